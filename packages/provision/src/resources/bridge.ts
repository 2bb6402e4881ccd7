/**
 * The link-local-only bridge. LXD 5.0.2 facts this encodes (issue 5, item 4):
 * - `ipv6.address: none` disables IPv6 on the bridge (no fe80 at all), so fe80::1/64 with dhcp/nat/routing/firewall
 *   off and `dns.mode: none`; `raw.dnsmasq: port=0` turns dnsmasq's DNS listener off so two bridges holding fe80::1
 *   do not collide.
 * - once a bridge holds `ipv6.address: fe80::1/64`, changes that restart it (`bridge.hwaddr`, `ipv6.firewall`,
 *   `raw.dnsmasq`) fail with "address already assigned". Measured here: writing every key in one request works from
 *   a seed-style bridge (`ipv6.address: none`); from a bridge that holds an address, writing the new keys with
 *   `ipv6.address: none` first and then the full set works. Keys starting with `user.` never restart it.
 */
import type { HostConfig } from '../host-config/schema.js';
import { type HostFacts, type LxdNetwork, lxdPath } from './facts.js';
import { diffKeys, type ResourcePlan, type Step } from './types.js';

/** The bridge keys cuttle-provision manages (`bridge.hwaddr` only where LXD has `network_hwaddr`). */
export function desiredBridgeConfig(config: HostConfig, hasHwaddr: boolean): Record<string, string> {
  const out: Record<string, string> = {
    'ipv4.address': 'none',
    'ipv6.address': config.bridge.address,
    'ipv6.dhcp': 'false',
    'ipv6.nat': 'false',
    'ipv6.routing': 'false',
    'ipv6.firewall': 'false',
    'dns.mode': 'none',
    'raw.dnsmasq': 'port=0',
  };
  if (hasHwaddr) out['bridge.hwaddr'] = config.bridge.hwaddr.toLowerCase();
  return { ...out, ...config.bridge.config };
}

function holdsAddress(cfg: Readonly<Record<string, string>>): boolean {
  const a = cfg['ipv6.address'];
  return a !== undefined && a !== '' && a !== 'none';
}

/** Plans the bridge declared in `config`. */
export function planBridge(facts: HostFacts, config: HostConfig): ResourcePlan {
  const name = config.bridge.name;
  const id = `bridge ${name}`;
  const hasHwaddr = facts.lxd.extensions.includes('network_hwaddr');
  const desired = desiredBridgeConfig(config, hasHwaddr);
  const hwNote = hasHwaddr
    ? {}
    : { note: 'this LXD lacks network_hwaddr: pin the MAC with a systemd .link file' };
  const m = facts.lxd.networks[name] ?? null;

  if (m === null) {
    return {
      id,
      action: 'create',
      changes: diffKeys({}, desired),
      ...hwNote,
      // Every key in the one creating request: later changes may be refused (see above).
      steps: [
        {
          kind: 'lxd-create',
          path: '/1.0/networks',
          body: { name, type: 'bridge', config: desired, description: 'managed by cuttle-provision' },
        },
      ],
    };
  }
  if (m.type !== 'bridge' || !m.managed) {
    return {
      id,
      action: 'replace-required',
      changes: [{ key: 'type', from: m.managed ? m.type : `${m.type} (not managed by LXD)`, to: 'bridge' }],
      note: `replace required: ${name} exists but is not an LXD-managed bridge`,
    };
  }
  const changes = diffKeys(m.config, desired);
  if (changes.length === 0) return { id, action: 'none', changes };
  const restarts = changes.some((c) => !c.key.startsWith('user.'));
  const twoStep = restarts && holdsAddress(m.config);
  const write = (override: Record<string, string>): Step => ({
    kind: 'lxd-update',
    path: lxdPath.network(name),
    build: (cur) => {
      const c = cur as unknown as LxdNetwork;
      return { config: { ...c.config, ...desired, ...override }, description: c.description };
    },
  });
  return {
    id,
    action: 'update',
    changes,
    ...(twoStep
      ? {
          note: 'two writes: first with ipv6.address none, then the full set (LXD refuses bridge restarts while it holds the address); containers on it lose the bridge address for a moment',
        }
      : hwNote),
    steps: twoStep ? [write({ 'ipv6.address': 'none' }), write({})] : [write({})],
  };
}
