/**
 * The profiles the containers use (the seed: `default`). Managed: the keys below and the two devices (bridge mode:
 * NIC on the bridge; socket mode: the LXD proxy device to cuttle's unix socket; and the root disk on the pool);
 * every other key and device is kept, except that a socket-mode profile loses every NIC (its containers must have
 * no interface but `lo`) and a bridge-mode profile loses the managed proxy device. The NIC gets `security.mac_filtering`, so a
 * container cannot send with another's MAC; the IPv6 address and neighbour discovery are checked by cuttle's bridge
 * guard (render/nftables.ts), since MAC filtering alone lets a container advertise another's address with its own
 * MAC. `security.ipv6_filtering` is NOT set: measured on LXD 5.0.2, on a bridge whose only IPv6 is link-local it
 * adds `ether type ip6 drop` for the container's veth, so the container cannot reach the proxy at all.
 * `security.port_isolation` (when the daemon has it and `firewall.allow_between_containers` is off) makes the
 * kernel bridge forward nothing between two such NICs, from the moment LXD plugs the veth in.
 */
import type { HostConfig, ManagedProfile, ProfileMode } from '../host-config/schema.js';
import { renderCloudInit } from '../render/cloud-init.js';
import { proxyEnvironment, socketListenAddress } from '../render/proxy-url.js';
import { type HostFacts, type LxdProfile, lxdPath } from './facts.js';
import { diffKeys, type KeyChange, type ResourcePlan } from './types.js';

/** What the profile should hold. */
export interface DesiredProfile {
  readonly config: Record<string, string>;
  readonly devices: Record<string, Record<string, string>>;
  /** Devices that must not be there (a NIC on a socket-mode profile). */
  readonly absent: (devices: LxdProfile['devices']) => string[];
}

/** The daemon features the profile depends on. */
export interface ProfileFeatures {
  readonly incus: boolean;
  readonly cloudInitKeys: boolean;
  /** LXD's `security.port_isolation` on bridged NICs (API extension `instance_nic_bridged_port_isolation`). */
  readonly portIsolation?: boolean;
}

/** The features, from the facts. */
export function profileFeatures(facts: HostFacts): ProfileFeatures {
  return {
    incus: facts.lxd.incus,
    cloudInitKeys: facts.lxd.extensions.includes('cloud_init'),
    portIsolation: facts.lxd.extensions.includes('instance_nic_bridged_port_isolation'),
  };
}

/**
 * The LXD proxy device of socket mode: listens on 127.0.0.1:PORT inside the container (`bind=container`) and
 * connects to cuttle's unix socket on the host. forkproxy connects as the device's `security.uid` (default 0), so
 * the socket needs no `uid`/`gid`/`mode` keys (those are for a unix *listen* side).
 */
export function socketDevice(config: HostConfig): Record<string, string> {
  return {
    type: 'proxy',
    listen: `tcp:${socketListenAddress(config)}`,
    connect: `unix:${config.socket.path}`,
    bind: 'container',
  };
}

/** The managed profile keys and devices for a `mode` profile. */
export function desiredProfile(
  config: HostConfig,
  f: ProfileFeatures,
  mode: ProfileMode = config.mode,
): DesiredProfile {
  const cfg: Record<string, string> = {
    'user.network_mode': 'link-local',
    [f.incus ? 'security.guestapi' : 'security.devlxd']: 'false',
  };
  const env = { ...proxyEnvironment(config, mode), ...config.profile.environment };
  for (const [k, v] of Object.entries(env)) cfg[`environment.${k}`] = v;
  if (config.profile.cloud_init)
    cfg[f.cloudInitKeys ? 'cloud-init.user-data' : 'user.user-data'] = renderCloudInit(config, mode);
  Object.assign(cfg, config.profile.config);
  const root = { type: 'disk', path: '/', pool: config.pool.name };
  if (mode === 'socket') {
    return {
      config: cfg,
      devices: { [config.socket.device]: socketDevice(config), root },
      absent: (devices) =>
        Object.keys(devices).filter((d) => devices[d]?.type === 'nic' && d !== config.socket.device),
    };
  }
  const nic: Record<string, string> = {
    type: 'nic',
    network: config.bridge.name,
    name: config.profile.nic,
    'security.mac_filtering': 'true',
  };
  if (f.portIsolation === true && !config.firewall.allow_between_containers)
    nic['security.port_isolation'] = 'true';
  return {
    config: cfg,
    devices: { [config.profile.nic]: nic, root },
    absent: (devices) =>
      devices[config.socket.device]?.type === 'proxy' && config.socket.device !== config.profile.nic
        ? [config.socket.device]
        : [],
  };
}

function diffDevices(current: LxdProfile['devices'], desired: DesiredProfile): KeyChange[] {
  const out: KeyChange[] = [];
  for (const dev of desired.absent(current))
    out.push({ key: `devices.${dev}`, from: current[dev]?.type ?? 'device', to: undefined });
  for (const [dev, want] of Object.entries(desired.devices)) {
    const have = current[dev] ?? {};
    out.push(...diffKeys(have, want, `devices.${dev}.`));
    for (const k of Object.keys(have))
      if (!(k in want)) out.push({ key: `devices.${dev}.${k}`, from: have[k], to: undefined });
  }
  return out;
}

/** Plans one profile declared in `config` (default: `profile.name` in `mode`). */
export function planProfile(
  facts: HostFacts,
  config: HostConfig,
  profile: ManagedProfile = { name: config.profile.name, mode: config.mode },
): ResourcePlan {
  const name = profile.name;
  const id = `profile ${name}${profile.mode === 'socket' ? ' (socket mode)' : ''}`;
  const desired = desiredProfile(config, profileFeatures(facts), profile.mode);
  const m = facts.lxd.profiles[name] ?? null;
  if (m === null) {
    return {
      id,
      action: 'create',
      changes: [...diffKeys({}, desired.config), ...diffDevices({}, desired)],
      steps: [
        {
          kind: 'lxd-create',
          path: '/1.0/profiles',
          body: {
            name,
            config: desired.config,
            devices: desired.devices,
            description: 'managed by cuttle-provision',
          },
        },
      ],
    };
  }
  const changes = [...diffKeys(m.config, desired.config), ...diffDevices(m.devices, desired)];
  if (changes.length === 0) return { id, action: 'none', changes };
  return {
    id,
    action: 'update',
    changes,
    steps: [
      {
        kind: 'lxd-update',
        path: lxdPath.profile(name),
        build: (current) => {
          const cur = current as unknown as LxdProfile;
          const devices = { ...cur.devices };
          for (const dev of desired.absent(cur.devices)) delete devices[dev];
          return {
            config: { ...cur.config, ...desired.config },
            devices: { ...devices, ...desired.devices },
            description: cur.description,
          };
        },
      },
    ],
  };
}
