/**
 * The profile the containers use (the seed: `default`). Managed: the keys below and the two devices (NIC on the
 * bridge, root disk on the pool); every other key and device is kept. The NIC gets `security.mac_filtering`, so a
 * container cannot take another's MAC (and with it the EUI-64 link-local address) or answer neighbour discovery
 * for it. `security.ipv6_filtering` is NOT set: measured on LXD 5.0.2, on a bridge whose only IPv6 is link-local
 * it adds `ether type ip6 drop` for the container's veth, so the container cannot reach the proxy at all.
 */
import type { HostConfig } from '../host-config/schema.js';
import type { LxdClient } from '../lxd/client.js';
import { renderCloudInit } from '../render/cloud-init.js';
import { proxyEnvironment } from '../render/proxy-url.js';
import { diffKeys, type KeyChange, type ResourcePlan } from './types.js';

interface LxdProfile {
  name: string;
  description: string;
  config: Record<string, string>;
  devices: Record<string, Record<string, string>>;
}

/** What the profile should hold. */
export interface DesiredProfile {
  readonly config: Record<string, string>;
  readonly devices: Record<string, Record<string, string>>;
}

/** The daemon features the profile depends on. */
export interface ProfileFeatures {
  readonly incus: boolean;
  readonly cloudInitKeys: boolean;
}

/** Reads the features from the daemon. */
export async function profileFeatures(client: LxdClient): Promise<ProfileFeatures> {
  return {
    incus: await client.isIncus(),
    cloudInitKeys: await client.hasExtension('cloud_init'),
  };
}

/** The managed profile keys and devices. */
export function desiredProfile(config: HostConfig, f: ProfileFeatures): DesiredProfile {
  const cfg: Record<string, string> = {
    'user.network_mode': 'link-local',
    [f.incus ? 'security.guestapi' : 'security.devlxd']: 'false',
  };
  const env = { ...proxyEnvironment(config), ...config.profile.environment };
  for (const [k, v] of Object.entries(env)) cfg[`environment.${k}`] = v;
  if (config.profile.cloud_init)
    cfg[f.cloudInitKeys ? 'cloud-init.user-data' : 'user.user-data'] = renderCloudInit(config);
  Object.assign(cfg, config.profile.config);
  const nic: Record<string, string> = {
    type: 'nic',
    network: config.bridge.name,
    name: config.profile.nic,
    'security.mac_filtering': 'true',
  };
  return {
    config: cfg,
    devices: {
      [config.profile.nic]: nic,
      root: { type: 'disk', path: '/', pool: config.pool.name },
    },
  };
}

function profilePath(name: string): string {
  return `/1.0/profiles/${encodeURIComponent(name)}`;
}

function diffDevices(current: LxdProfile['devices'], desired: DesiredProfile['devices']): KeyChange[] {
  const out: KeyChange[] = [];
  for (const [dev, want] of Object.entries(desired)) {
    const have = current[dev] ?? {};
    out.push(...diffKeys(have, want, `devices.${dev}.`));
    for (const k of Object.keys(have))
      if (!(k in want)) out.push({ key: `devices.${dev}.${k}`, from: have[k], to: undefined });
  }
  return out;
}

/** Plans the profile declared in `config`. */
export async function planProfile(client: LxdClient, config: HostConfig): Promise<ResourcePlan> {
  const name = config.profile.name;
  const id = `profile ${name}`;
  const desired = desiredProfile(config, await profileFeatures(client));
  const current = await client.getOrNull<LxdProfile>(profilePath(name));
  if (current === null) {
    return {
      id,
      action: 'create',
      changes: [...diffKeys({}, desired.config), ...diffDevices({}, desired.devices)],
      apply: async () => {
        await client.request('POST', '/1.0/profiles', {
          name,
          config: desired.config,
          devices: desired.devices,
          description: 'managed by cuttle-provision',
        });
      },
    };
  }
  const m = current.metadata;
  const changes = [...diffKeys(m.config, desired.config), ...diffDevices(m.devices, desired.devices)];
  if (changes.length === 0) return { id, action: 'none', changes };
  return {
    id,
    action: 'update',
    changes,
    apply: () =>
      client.update<LxdProfile>(profilePath(name), (cur) => ({
        config: { ...cur.config, ...desired.config },
        devices: { ...cur.devices, ...desired.devices },
        description: cur.description,
      })),
  };
}
