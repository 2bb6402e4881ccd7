/**
 * One runner for the end-to-end tests against the private LXD daemon: the test-only objects it names are deleted
 * before and after (containers, profiles, networks, pools, nft tables), a temp dir, an origin in its own process,
 * proxies and identity watchers that are stopped at the end, and hooks (`cuttle-provision remove`) run first.
 *
 *   const world = lxdWorld('cps-both-', { containers: [C], profiles: [P], pools: [POOL] });
 *   beforeAll(async () => { const w = await world.setUp(); ... }, 240_000);
 *   afterAll(() => world.tearDown(), 120_000);
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deleteContainer, execIn, LXD_TEST_SOCKET, lxc, lxcOk } from './lxd.js';
import { type OriginProcess, startOriginProcess } from './origin.js';
import { type ProxyProcess, type StartProxyOptions, startProxy } from './proxy-process.js';
import { waitFor } from './wait.js';

/** The compiled cuttle-provision CLI. */
export const PROVISION_MAIN = fileURLToPath(
  new URL('../packages/provision/dist/cli/main.js', import.meta.url),
);

/** Test-only LXD objects (and nft tables: every family of the name) a test creates, deleted in this order. */
export interface LxdObjects {
  readonly containers?: readonly string[];
  readonly profiles?: readonly string[];
  readonly networks?: readonly string[];
  readonly pools?: readonly string[];
  readonly nftTables?: readonly string[];
}

/** Deletes every object in `o` that exists; never throws. */
export async function deleteLxdObjects(o: LxdObjects): Promise<void> {
  for (const c of o.containers ?? []) await deleteContainer(c);
  for (const p of o.profiles ?? []) await lxc(['profile', 'delete', p]);
  for (const n of o.networks ?? []) await lxc(['network', 'delete', n]);
  for (const p of o.pools ?? []) await lxc(['storage', 'delete', p]);
  // cuttle-provision's file loads three tables of one name: inet, and the bridge guard's netdev and bridge.
  for (const t of o.nftTables ?? [])
    for (const family of ['inet', 'netdev', 'bridge'])
      spawnSync('nft', ['delete', 'table', family, t], { stdio: 'ignore' });
}

/**
 * A link-local-only LXD bridge, every key at creation (LXD 5.0.2 refuses later updates of a bridge holding
 * fe80::1), no DNS listener, so it does not collide with other test bridges holding fe80::1.
 */
export async function createLinkLocalLxdBridge(name: string): Promise<void> {
  await lxcOk([
    'network',
    'create',
    name,
    'ipv4.address=none',
    'ipv6.address=fe80::1/64',
    'ipv6.dhcp=false',
    'ipv6.nat=false',
    'ipv6.routing=false',
    'dns.mode=none',
    'raw.dnsmasq=port=0',
  ]);
}

/** A profile with a root disk on `pool` and, with `bridge`, a MAC-filtered NIC `eth0` on it. */
export async function createTestProfile(name: string, pool: string, bridge?: string): Promise<void> {
  await lxcOk(['profile', 'create', name]);
  await lxcOk(['profile', 'device', 'add', name, 'root', 'disk', 'path=/', `pool=${pool}`]);
  if (bridge !== undefined)
    await lxcOk([
      'profile',
      'device',
      'add',
      name,
      'eth0',
      'nic',
      'name=eth0',
      `network=${bridge}`,
      'security.mac_filtering=true',
    ]);
}

/** `cuttle-provision identity --watch` running against the private daemon. */
export interface IdentityWatcher {
  readonly child: ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
}

/** Proxy settings (for `proxy.settings` or a proxy config) under which `names` resolve to the origin. */
export function originSettings(origin: OriginProcess, names: readonly string[]): Record<string, unknown> {
  return {
    dns: { hosts: Object.fromEntries(names.map((n) => [n, ['127.0.0.1']])) },
    ports: [origin.port],
    destinations: { allow_ranges: ['127.0.0.1/32'] },
    metrics: { listen: null },
  };
}

export interface LxdWorld {
  /** A temp dir of the test's own, removed at the end. */
  readonly dir: string;
  /** An origin in its own process answering `origin saw METHOD URL`. */
  readonly origin: OriginProcess;
  /** Starts a proxy that is closed at the end. */
  startProxy(config: Record<string, unknown>, options?: StartProxyOptions): Promise<ProxyProcess>;
  /** Starts `identity --map MAP --watch` (plus `args`) and waits until it follows LXD's events. */
  watchIdentity(map: string, args?: readonly string[]): Promise<IdentityWatcher>;
  /** Runs `fn` first at the end (before anything is stopped or deleted). */
  onTearDown(fn: () => Promise<unknown>): void;
}

/** The runner: `setUp()` in beforeAll, `tearDown()` in afterAll. */
export function lxdWorld(
  prefix: string,
  objects: LxdObjects,
): { setUp(): Promise<LxdWorld>; tearDown(): Promise<void> } {
  let dir: string | undefined;
  let origin: OriginProcess | undefined;
  const proxies: ProxyProcess[] = [];
  const watchers: IdentityWatcher[] = [];
  const hooks: (() => Promise<unknown>)[] = [];
  return {
    async setUp() {
      await deleteLxdObjects(objects);
      const d = mkdtempSync(join(tmpdir(), prefix));
      dir = d;
      const o = await startOriginProcess();
      origin = o;
      return {
        dir: d,
        origin: o,
        startProxy: async (config, options) => {
          const p = await startProxy(config, options);
          proxies.push(p);
          return p;
        },
        watchIdentity: async (map, args = []) => {
          const child = spawn(
            process.execPath,
            [PROVISION_MAIN, 'identity', '--map', map, '--watch', '--socket', LXD_TEST_SOCKET, ...args],
            { stdio: ['ignore', 'ignore', 'pipe'] },
          );
          let err = '';
          child.stderr?.on('data', (b: Buffer) => {
            err += b.toString();
          });
          const w: IdentityWatcher = {
            child,
            stderr: () => err,
            stop: async () => {
              if (child.exitCode !== null || child.signalCode !== null) return;
              const gone = new Promise((r) => child.once('exit', r));
              child.kill('SIGTERM');
              await gone;
            },
          };
          watchers.push(w);
          await waitFor(
            'the identity watcher',
            () => err,
            (e) => /following LXD lifecycle events/.test(e),
            30_000,
          );
          return w;
        },
        onTearDown: (fn) => {
          hooks.push(fn);
        },
      };
    },
    async tearDown() {
      for (const h of hooks) await h().catch(() => undefined);
      for (const w of watchers) await w.stop();
      for (const p of proxies) await p.close();
      await origin?.close();
      await deleteLxdObjects(objects);
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** busybox wget of `url` inside container `name` through its profile's proxy environment (20 s at most). */
export function wgetIn(name: string, url: string) {
  return execIn(name, ['timeout', '20', 'wget', '-q', '-O-', url]);
}

/** The same, printing the response headers to stderr and discarding the body (for a status check). */
export function wgetHeadersIn(name: string, url: string) {
  return execIn(name, ['timeout', '20', 'wget', '-S', '-O', '/dev/null', url]);
}

/** The network interfaces inside container `name` (`ip -o link`, without `@peer`), and the command's exit code. */
export async function interfacesIn(name: string): Promise<{ code: number; names: string[] }> {
  const r = await execIn(name, ['ip', '-o', 'link']);
  const names = r.stdout
    .trim()
    .split('\n')
    .map((l) => l.split(':')[1]?.trim().replace(/@.*$/, '') ?? '');
  return { code: r.code, names };
}
