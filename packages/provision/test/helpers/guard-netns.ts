/**
 * A stand-in host for the bridge guard test, entirely inside network namespaces (the tables never touch the real
 * host): `cpv-gh-*` holds bridge `cpvgbr` (fe80::1) with clients `a`, `c` and `f` (f: a container the guard does not
 * know yet), a second bridge `cpvgo` with clients `d` and `e` (another bridge on the host, which must stay
 * untouched), the other bridge holding 198.51.100.1 (a host IPv4 address a container could ARP for). Every client's
 * interface is eth0 with a fixed MAC, so its EUI-64 link-local address is known. `br_netfilter`'s sysctls are
 * per namespace: the host namespace sets them as the test asks, the real host's are not touched.
 */
import { execFile, execFileSync } from 'node:child_process';

const RUN = process.pid.toString(36);
export const GUARD_HOST_NS = `cpv-gh-${RUN}`;
export const GUARD_BRIDGE = 'cpvgbr';
export const OTHER_BRIDGE = 'cpvgo';
export const HOST_V4 = '198.51.100.1';

export type Client = 'a' | 'c' | 'f' | 'd' | 'e';

/** Each client's MAC (LXD's prefix) and EUI-64 link-local address. */
export const CLIENTS: Record<Client, { mac: string; address: string; bridge: string }> = {
  a: { mac: '00:16:3e:00:00:0a', address: 'fe80::216:3eff:fe00:a', bridge: GUARD_BRIDGE },
  c: { mac: '00:16:3e:00:00:0c', address: 'fe80::216:3eff:fe00:c', bridge: GUARD_BRIDGE },
  f: { mac: '00:16:3e:00:00:0f', address: 'fe80::216:3eff:fe00:f', bridge: GUARD_BRIDGE },
  d: { mac: '00:16:3e:00:00:0d', address: 'fe80::216:3eff:fe00:d', bridge: OTHER_BRIDGE },
  e: { mac: '00:16:3e:00:00:0e', address: 'fe80::216:3eff:fe00:e', bridge: OTHER_BRIDGE },
};

export const nsOf = (c: Client): string => `cpv-g${c}-${RUN}`;

const run = (...args: string[]): string =>
  execFileSync(args[0] as string, args.slice(1), { encoding: 'utf8', stdio: 'pipe' });
/** A command in the host namespace; its stdout. */
export const inHost = (...args: string[]): string => run('ip', 'netns', 'exec', GUARD_HOST_NS, ...args);
/** A command in client `c`'s namespace; its stdout. */
export const inClient = (c: Client, ...args: string[]): string =>
  run('ip', 'netns', 'exec', nsOf(c), ...args);

export function removeGuardNetns(): void {
  for (const ns of [...(Object.keys(CLIENTS) as Client[]).map(nsOf), GUARD_HOST_NS]) {
    try {
      run('ip', 'netns', 'del', ns);
    } catch {}
  }
}

function waitNotTentative(c: Client): void {
  for (let i = 0; i < 50; i++) {
    const out = inClient(c, 'ip', '-6', 'addr', 'show', 'dev', 'eth0');
    if (/fe80::/.test(out) && !/tentative/.test(out)) return;
    execFileSync('sleep', ['0.2']);
  }
  throw new Error(`${nsOf(c)}/eth0: link-local address stayed tentative`);
}

/** Builds the namespaces; `brNetfilter` sets net.bridge.bridge-nf-call-* in the host namespace. */
export function createGuardNetns(brNetfilter: 0 | 1): void {
  removeGuardNetns();
  run('ip', 'netns', 'add', GUARD_HOST_NS);
  inHost('ip', 'link', 'set', 'lo', 'up');
  for (const k of ['iptables', 'ip6tables', 'arptables'])
    inHost('sysctl', '-qw', `net.bridge.bridge-nf-call-${k}=${brNetfilter}`);
  for (const br of [GUARD_BRIDGE, OTHER_BRIDGE]) {
    inHost('ip', 'link', 'add', br, 'type', 'bridge');
    inHost('ip', 'link', 'set', br, 'up');
  }
  inHost('ip', '-6', 'addr', 'add', 'fe80::1/64', 'dev', GUARD_BRIDGE, 'nodad');
  inHost('ip', '-4', 'addr', 'add', `${HOST_V4}/32`, 'dev', OTHER_BRIDGE);
  for (const [c, { mac, bridge }] of Object.entries(CLIENTS) as [Client, (typeof CLIENTS)[Client]][]) {
    run('ip', 'netns', 'add', nsOf(c));
    inClient(c, 'ip', 'link', 'set', 'lo', 'up');
    run(
      'ip',
      '-n',
      GUARD_HOST_NS,
      'link',
      'add',
      `cpvg${c}-h`,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      nsOf(c),
    );
    inClient(c, 'ip', 'link', 'set', 'eth0', 'address', mac);
    inHost('ip', 'link', 'set', `cpvg${c}-h`, 'master', bridge, 'up');
    inClient(c, 'ip', 'link', 'set', 'eth0', 'up');
  }
  for (const c of Object.keys(CLIENTS) as Client[]) waitNotTentative(c);
}

/** Node in a namespace running `script`; its trimmed stdout. */
function node(ns: string, script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'ip',
      ['netns', 'exec', ns, process.execPath, '-e', script],
      { encoding: 'utf8', timeout: 10_000 },
      (err, out) => (err ? reject(err) : resolve(out.trim())),
    );
  });
}

/** Listens in the host namespace on [::]:port for each port (answers "hello"); resolves once listening. */
export function listen(ns: string, ports: number[]): Promise<() => void> {
  const script = `let n = 0; const ports = ${JSON.stringify(ports)};
for (const p of ports) require('node:net').createServer((s) => s.end('hello')).listen({ host: '::', port: p }, () => { if (++n === ports.length) console.log('ready'); });`;
  const child = execFile('ip', ['netns', 'exec', ns, process.execPath, '-e', script]);
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve(() => child.kill());
    });
    child.on('exit', (code) => reject(new Error(`listener exited ${code}`)));
  });
}

/** From client `c`, TCP to `[host%eth0]:port` (from `source` if given): 'open' or 'closed'. */
export function probeTcp(c: Client, host: string, port: number, source?: string): Promise<string> {
  const local = source === undefined ? '' : `, localAddress: '${source}%eth0'`;
  const script = `const s = require('node:net').connect({ host: '${host}%eth0', port: ${port}${local} });
s.setTimeout(1500, () => { console.log('closed'); process.exit(0); });
s.on('data', () => { console.log('open'); process.exit(0); }); s.on('error', () => { console.log('closed'); process.exit(0); });`;
  return node(nsOf(c), script);
}

/** From client `c`, `ping -c 2` to `target%eth0` (IPv6 or IPv4): 'answered' or 'silent'. */
export function ping(c: Client, target: string): string {
  const v6 = target.includes(':');
  try {
    inClient(
      c,
      'busybox',
      'timeout',
      '4',
      'busybox',
      v6 ? 'ping6' : 'ping',
      '-c',
      '2',
      '-W',
      '1',
      ...(v6 ? ['-I', 'eth0'] : []),
      target,
    );
    return 'answered';
  } catch {
    return 'silent';
  }
}

/** From client `c`, `arping` for `target` on eth0: 'answered' or 'silent'. */
export function arping(c: Client, target: string): string {
  try {
    inClient(c, 'busybox', 'arping', '-f', '-c', '2', '-w', '2', '-I', 'eth0', target);
    return 'answered';
  } catch {
    return 'silent';
  }
}

/** The host namespace's neighbour entry for `address` on the guarded bridge: the MAC it maps to, or null. */
export function hostNeighbour(address: string): string | null {
  const out = inHost('ip', '-6', 'neigh', 'show', 'to', address, 'dev', GUARD_BRIDGE);
  return /lladdr (\S+)/.exec(out)?.[1] ?? null;
}
