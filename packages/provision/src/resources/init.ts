/**
 * `cuttle-provision init`: a host.yaml from the live host's facts. Pure: given what LXD holds (pools, networks,
 * profiles, instances), it chooses a pool to reuse (the one the `default` profile's root disk is on, else the one
 * most used, else a new `dir` pool) and a new dedicated bridge and profile (names nothing on the host uses, or
 * ones cuttle-provision created), so that applying it never rewrites `lxdbr0` or `default`. The text lists what
 * was found and who uses it, as comments.
 */
import { stringify } from 'yaml';
import type { LxdInstance, LxdNetwork, LxdPool, LxdProfile } from './facts.js';

/** What init reads: every pool, network, profile and instance (with `used_by`). */
export interface InitFacts {
  readonly socketPath: string;
  readonly pools: readonly (LxdPool & { used_by?: readonly string[] })[];
  readonly networks: readonly LxdNetwork[];
  readonly profiles: readonly LxdProfile[];
  readonly instances: readonly LxdInstance[];
}

export interface InitOptions {
  readonly mode?: 'bridge' | 'socket';
  /** Names to use instead of the chosen ones. */
  readonly pool?: string;
  readonly bridge?: string;
  readonly profile?: string;
  /** Written as `lxd_socket` when given (the `--socket` of init). */
  readonly lxdSocket?: string;
}

/** What init chose, for its summary. */
export interface InitResult {
  readonly text: string;
  readonly pool: { name: string; existing: boolean };
  readonly bridge: { name: string; existing: boolean } | null;
  readonly profile: { name: string; existing: boolean };
  /** Instances that are not on the chosen profile: they keep whatever network they had. */
  readonly unmanaged: string[];
}

const OURS = 'managed by cuttle-provision';

/** `/1.0/instances/c1?project=x` -> `instance c1`. */
function user(path: string): string {
  const m = /^\/1\.0\/([a-z-]+)\/([^?]+)/.exec(path);
  if (m === null) return path;
  const kind = { instances: 'instance', profiles: 'profile', 'storage-pools': 'pool' }[m[1] ?? ''] ?? m[1];
  return `${kind} ${decodeURIComponent(m[2] ?? '')}`;
}

function users(usedBy: readonly string[] | undefined): string {
  const u = (usedBy ?? []).map(user);
  return u.length === 0 ? 'unused' : `used by ${u.join(', ')}`;
}

/** The first `nth(0)`, `nth(1)`... that nothing on the host uses, or that cuttle-provision created. */
function freeName(nth: (i: number) => string, taken: ReadonlyMap<string, string>): string {
  for (let i = 0; ; i++) {
    const desc = taken.get(nth(i));
    if (desc === undefined || desc === OURS) return nth(i);
  }
}

const plain = (base: string) => (i: number) => (i === 0 ? base : `${base}-${i}`);

/** The pool to reuse: under the `default` profile's root disk, else the most used, else none. */
function choosePool(f: InitFacts): LxdPool | null {
  const dflt = f.profiles.find((p) => p.name === 'default');
  const rootPool = Object.values(dflt?.devices ?? {}).find((d) => d.type === 'disk' && d.path === '/')?.pool;
  const byName = f.pools.find((p) => p.name === rootPool);
  if (byName !== undefined) return byName;
  const sorted = [...f.pools].sort((a, b) => (b.used_by?.length ?? 0) - (a.used_by?.length ?? 0));
  return sorted[0] ?? null;
}

/** A MAC in LXD's 00:16:3e range that no network on the host pins. */
function chooseMac(bridge: string, networks: readonly LxdNetwork[]): string {
  const used = new Set(networks.map((n) => n.config['bridge.hwaddr']?.toLowerCase()));
  let h = 0;
  for (const c of bridge) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  for (let i = 0; ; i++) {
    const v = (h + i) & 0xffffff;
    const mac = `00:16:3e:${[v >> 16, (v >> 8) & 0xff, v & 0xff].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
    if (!used.has(mac)) return mac;
  }
}

function describeNetwork(n: LxdNetwork): string {
  const v4 = n.config['ipv4.address'];
  const v6 = n.config['ipv6.address'];
  const addrs = [v4 && v4 !== 'none' ? `IPv4 ${v4}` : '', v6 && v6 !== 'none' ? `IPv6 ${v6}` : '']
    .filter((x) => x !== '')
    .join(', ');
  return `${n.name} (${n.managed ? n.type : `${n.type}, not managed by LXD`}${addrs ? `, ${addrs}` : ''}), ${users(n.used_by)}`;
}

/** The host.yaml for `f`. */
export function initialHostYaml(f: InitFacts, o: InitOptions = {}): InitResult {
  const mode = o.mode ?? 'bridge';
  const chosen = o.pool === undefined ? choosePool(f) : (f.pools.find((p) => p.name === o.pool) ?? null);
  const poolName =
    o.pool ?? chosen?.name ?? freeName(plain('cuttle'), new Map(f.pools.map((p) => [p.name, p.description])));
  const pool: Record<string, unknown> = { name: poolName, driver: chosen?.driver ?? 'dir' };
  const source = chosen?.config['volatile.initial_source'] || chosen?.config.source;
  if (chosen !== null && source) pool.source = source;
  const nets = new Map(f.networks.map((n) => [n.name, n.description]));
  const bridgeName = mode === 'bridge' ? (o.bridge ?? freeName((i) => `cuttlebr${i}`, nets)) : null;
  const profileName =
    o.profile ?? freeName(plain('cuttle'), new Map(f.profiles.map((p) => [p.name, p.description])));
  const data: Record<string, unknown> = {
    ...(o.lxdSocket === undefined ? {} : { lxd_socket: o.lxdSocket }),
    mode,
    pool,
    ...(bridgeName === null
      ? {}
      : { bridge: { name: bridgeName, hwaddr: chooseMac(bridgeName, f.networks) } }),
    profile: { name: profileName },
    proxy: { allow: [] },
  };
  const onProfile = (i: LxdInstance) => i.profiles.includes(profileName);
  const unmanaged = f.instances.filter((i) => !onProfile(i)).map((i) => i.name);
  const lines = [
    '# host.yaml written by `cuttle-provision init` from the LXD daemon it found. Review it, add the names the',
    '# containers may reach to proxy.allow, then `cuttle-provision plan` and `apply`. Every key: docs/host-reference.md.',
    '#',
    '# cuttle-provision manages only the pool, bridge and profile named below; it never changes the others.',
    '# Found on this host:',
    ...(f.pools.length === 0 ? ['#   pools: none (a new dir pool is created)'] : []),
    ...f.pools.map((p) => `#   pool ${p.name} (${p.driver}), ${users(p.used_by)}`),
    ...f.networks.map((n) => `#   network ${describeNetwork(n)}`),
    ...f.profiles.map((p) => `#   profile ${p.name}, ${users(p.used_by)}`),
    ...(unmanaged.length === 0
      ? []
      : [
          `# Instances not on profile ${profileName} keep whatever network they had: ${unmanaged.join(', ')}.`,
        ]),
    `# New containers get the proxy with: lxc launch IMAGE NAME -p ${profileName}`,
    '',
  ];
  return {
    text: `${lines.join('\n')}${stringify(data)}`,
    pool: { name: poolName, existing: chosen !== null },
    bridge: bridgeName === null ? null : { name: bridgeName, existing: nets.get(bridgeName) !== undefined },
    profile: { name: profileName, existing: f.profiles.some((p) => p.name === profileName) },
    unmanaged,
  };
}
