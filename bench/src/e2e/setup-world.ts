/**
 * Brings up the loopback world of the e2e bench: a temporary directory, TLS material, nginx and the tunnel origin
 * on the load CPU, and each proxy under test pinned to the proxy CPU. A proxy that fails to start is reported and
 * left out; the others still run.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNginx } from './origins/nginx-origin.js';
import { BASE_CLI, startCuttle } from './proxies/cuttle.js';
import { startFloor } from './proxies/floor.js';
import { startProxyChain } from './proxies/proxy-chain.js';
import type { ProxyTarget, World } from './proxies/proxy-target.js';
import { startSquid } from './proxies/squid.js';
import { startTinyproxy } from './proxies/tinyproxy.js';
import {
  type Daemon,
  freePort,
  hasExited,
  Pauser,
  respawn,
  spawnDaemon,
  waitForPort,
} from './system/processes.js';

export const ALLOWED_HOST = 'name.test';
export const DENIED_HOST = 'denied.test';
/** The targets measured by default, in table order. `direct` is the baseline without a proxy. */
export const ALL_TARGETS = [
  'direct',
  'squid',
  'tinyproxy',
  'proxy-chain',
  'cuttle-node20',
  'cuttle-node24',
] as const;
/**
 * Targets that only relay CONNECT tunnels (peers/bare-relay.ts, the floor for cuttle's tunnels), measured when
 * named in --targets: probed with a tunnel instead of a GET and left out of the req/s, latency and mix sections.
 */
export const CONNECT_ONLY_TARGETS: ReadonlySet<string> = new Set(['bare-relay', 'bare-relay-node24']);
/**
 * The floor of plain HTTP (peers/floor-forwarder.ts: node:http + undici, nothing else), measured when named in
 * --targets and left out of the CONNECT and idle-tunnel sections.
 */
export const HTTP_ONLY_TARGETS: ReadonlySet<string> = new Set(['floor-node20', 'floor-node24']);
/** A second cuttle build (CUTTLE_BENCH_BASE_CLI) next to this checkout's, when named in --targets. */
export const BASE_TARGETS: readonly string[] = ['cuttle-base-node20', 'cuttle-base-node24'];
const BARE_MODES: Record<string, string> = {
  net: 'net server, pipe both ways',
  http: "node:http 'connect', pipe both ways",
  onread: 'net server, upstream read into a reused buffer (onread)',
};
/** Every target --targets accepts. */
export const KNOWN_TARGETS: readonly string[] = [
  ...ALL_TARGETS,
  ...BASE_TARGETS,
  ...HTTP_ONLY_TARGETS,
  ...CONNECT_ONLY_TARGETS,
];

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TUNNEL_ORIGIN = fileURLToPath(new URL('./peers/tunnel-origin.js', import.meta.url));
const BARE_RELAY = fileURLToPath(new URL('./peers/bare-relay.js', import.meta.url));

export interface Cpus {
  /** The proxy under test, alone. */
  readonly proxy: number | undefined;
  /** Generator and origins. */
  readonly load: number | undefined;
}

export interface BenchWorld {
  readonly dir: string;
  readonly world: World;
  readonly cpus: Cpus;
  /** Started proxies by target name (SNI check on for cuttle). */
  readonly proxies: Map<string, ProxyTarget>;
  /** cuttle with `connect.require_sni: false`, for the raw CONNECT rows. */
  readonly rawProxies: Map<string, ProxyTarget>;
  /** Targets that could not start, with the reason. */
  readonly failed: Map<string, string>;
  readonly nodeVersions: Record<string, string>;
  /** The tunnel origin's pid (its CPU is part of the load side of the CONNECT rows). */
  readonly tunnelOriginPid: number;
  /**
   * Restarts whichever of the target's daemons (cuttle: both configs) has exited, on the same port; false if it
   * cannot be restarted.
   */
  restart(target: string): Promise<boolean>;
  /** Stops the target's main daemon and starts it again on the same port: a fresh process for the memory rows. */
  fresh(target: string): Promise<void>;
  /** True if one of the target's daemons has exited. */
  isDown(target: string): boolean;
  /**
   * Stops (SIGSTOP, whole process trees) every proxy daemon but the target's main one (and its raw-CONNECT cuttle
   * when `withRaw`), so the target has the proxy CPU to itself; `direct` stops them all. Undone by `resume`.
   */
  isolate(target: string, withRaw: boolean): void;
  /** Continues every daemon `isolate` stopped. */
  resume(): void;
  stop(): Promise<void>;
}

/** Pins this process (all threads) to `cpu` and raises its open-file limit; children inherit both. */
export function prepareSelf(cpu: number | undefined, log: (l: string) => void): void {
  if (cpu !== undefined) {
    const r = spawnSync('taskset', ['-a', '-pc', String(cpu), String(process.pid)], { stdio: 'ignore' });
    if (r.status !== 0) log('could not pin the bench to its CPU (taskset failed)');
  }
  // 10k idle tunnels: the bench holds 10k sockets, a proxy 20k, the origin 10k.
  const r = spawnSync('prlimit', ['--pid', String(process.pid), '--nofile=65536:65536'], { stdio: 'ignore' });
  if (r.status !== 0) log('could not raise the open-file limit (prlimit failed); idle-tunnel rows may fail');
}

/** The Node 24 binary: scripts/node24.sh (installs it once into a cache) when present. */
export function findNode24(log: (l: string) => void): string | null {
  if (process.env.CUTTLE_BENCH_NODE24) return process.env.CUTTLE_BENCH_NODE24;
  const script = join(REPO_ROOT, 'scripts', 'node24.sh');
  if (!existsSync(script)) return null;
  try {
    return String(execFileSync('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'] })).trim();
  } catch (err) {
    log(`scripts/node24.sh failed: ${(err as Error).message.split('\n')[0]}`);
    return null;
  }
}

function makeCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'origin.crt');
  const key = join(dir, 'origin.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${ALLOWED_HOST}`,
      '-addext',
      `subjectAltName=DNS:${ALLOWED_HOST}`,
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

async function startTunnelOrigin(
  dir: string,
  cpu: number | undefined,
  cert: string,
  key: string,
): Promise<{ tls: number; tcp: number; daemon: Daemon }> {
  const log = join(dir, 'tunnel-origin.out');
  // stdout carries the ports; read it through a pipe, then keep the process as a Daemon for stop().
  const args =
    cpu === undefined
      ? [process.execPath, TUNNEL_ORIGIN, cert, key]
      : ['taskset', '-c', String(cpu), process.execPath, TUNNEL_ORIGIN, cert, key];
  const child = spawn(args[0] as string, args.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  const ports = await new Promise<{ tls: number; tcp: number }>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl !== -1) resolve(JSON.parse(out.slice(0, nl)) as { tls: number; tcp: number });
    });
    child.once('exit', (code) => reject(new Error(`tunnel origin exited ${code}`)));
  });
  child.stdout.resume();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const daemon: Daemon = {
    name: 'tunnel-origin',
    child,
    pid: child.pid as number,
    logFile: log,
    options: { name: 'tunnel-origin', command: args[0] as string, args: args.slice(1), logFile: log },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
  return { ...ports, daemon };
}

export interface WorldOptions {
  readonly targets: readonly string[];
  readonly cpuProfDir?: string | undefined;
  readonly log: (line: string) => void;
}

export async function setupWorld(o: WorldOptions): Promise<BenchWorld> {
  const twoCpus = (await import('node:os')).availableParallelism() >= 2;
  const cpus: Cpus = twoCpus ? { proxy: 0, load: 1 } : { proxy: undefined, load: undefined };
  prepareSelf(cpus.load, o.log);
  const dir = mkdtempSync(join(tmpdir(), 'cuttle-bench-'));
  chmodSync(dir, 0o755);
  o.log(`work directory ${dir}`);
  const daemons: Daemon[] = [];
  const { cert, key } = makeCert(dir);
  const nginx = await startNginx(join(dir, 'nginx'), cpus.load);
  daemons.push(nginx.daemon);
  const origin = await startTunnelOrigin(dir, cpus.load, cert, key);
  daemons.push(origin.daemon);
  const hostsFile = join(dir, 'hosts');
  writeFileSync(hostsFile, `127.0.0.1 localhost ${ALLOWED_HOST}\n`);
  const world: World = {
    allowedHost: ALLOWED_HOST,
    deniedHost: DENIED_HOST,
    originPort: nginx.port,
    tlsPort: origin.tls,
    tcpPort: origin.tcp,
    hostsFile,
  };
  const proxies = new Map<string, ProxyTarget>();
  const rawProxies = new Map<string, ProxyTarget>();
  const failed = new Map<string, string>();
  const nodeVersions: Record<string, string> = { 'cuttle-node20': process.versions.node };
  const node24 = o.targets.some((t) => t.endsWith('-node24')) ? findNode24(o.log) : null;
  const sub = (name: string) => {
    const d = join(dir, name);
    execFileSync('mkdir', ['-p', d]);
    chmodSync(d, 0o755);
    return d;
  };
  const starters: Record<string, () => Promise<void>> = {
    squid: async () => {
      proxies.set('squid', await startSquid(sub('squid'), world, cpus.proxy));
    },
    tinyproxy: async () => {
      proxies.set('tinyproxy', await startTinyproxy(sub('tinyproxy'), world, cpus.proxy));
    },
    'proxy-chain': async () => {
      proxies.set('proxy-chain', await startProxyChain(sub('proxy-chain'), world, cpus.proxy));
    },
    'cuttle-node20': async () => {
      await startCuttlePair('cuttle-node20', process.execPath);
    },
    'cuttle-node24': async () => {
      if (node24 === null)
        throw new Error('no Node 24 (scripts/node24.sh missing or failed; or set CUTTLE_BENCH_NODE24)');
      nodeVersions['cuttle-node24'] = String(execFileSync(node24, ['--version']))
        .trim()
        .replace(/^v/, '');
      await startCuttlePair('cuttle-node24', node24);
    },
    'bare-relay': async () => {
      await startBare('bare-relay', process.execPath);
    },
    'bare-relay-node24': async () => {
      if (node24 === null)
        throw new Error('no Node 24 (scripts/node24.sh missing or failed; or set CUTTLE_BENCH_NODE24)');
      await startBare('bare-relay-node24', node24);
    },
    'cuttle-base-node20': async () => {
      if (BASE_CLI === undefined) throw new Error('cuttle-base-* needs CUTTLE_BENCH_BASE_CLI');
      await startCuttlePair('cuttle-base-node20', process.execPath, BASE_CLI);
    },
    'cuttle-base-node24': async () => {
      if (BASE_CLI === undefined) throw new Error('cuttle-base-* needs CUTTLE_BENCH_BASE_CLI');
      if (node24 === null)
        throw new Error('no Node 24 (scripts/node24.sh missing or failed; or set CUTTLE_BENCH_NODE24)');
      await startCuttlePair('cuttle-base-node24', node24, BASE_CLI);
    },
    'floor-node20': async () => {
      proxies.set(
        'floor-node20',
        await startFloor(sub('floor'), world, cpus.proxy, 'floor-node20', process.execPath, o.cpuProfDir),
      );
    },
    'floor-node24': async () => {
      if (node24 === null)
        throw new Error('no Node 24 (scripts/node24.sh missing or failed; or set CUTTLE_BENCH_NODE24)');
      proxies.set(
        'floor-node24',
        await startFloor(sub('floor'), world, cpus.proxy, 'floor-node24', node24, o.cpuProfDir),
      );
    },
  };
  /** The bare CONNECT relay on `node`; CUTTLE_BENCH_BARE_MODE=http|onread picks a variant (see bare-relay.ts). */
  async function startBare(name: string, node: string): Promise<void> {
    const port = await freePort();
    const mode = process.env.CUTTLE_BENCH_BARE_MODE ?? 'net';
    const daemon = spawnDaemon({
      name,
      command: node,
      args: [BARE_RELAY, String(port), mode],
      cpu: cpus.proxy,
      logFile: join(dir, `${name}.out`),
    });
    await waitForPort(port, 10_000, daemon);
    const version = String(execFileSync(node, ['--version'])).trim();
    proxies.set(name, {
      name,
      port,
      daemon,
      note: `bare CONNECT relay (${BARE_MODES[mode] ?? mode}; no policy, log or metrics) on Node ${version.replace(/^v/, '')}`,
    });
  }
  async function startCuttlePair(name: string, node: string, cli?: string): Promise<void> {
    const d = sub('cuttle');
    proxies.set(
      name,
      await startCuttle(d, world, cpus.proxy, {
        name,
        node,
        cli,
        requireSni: true,
        cpuProfDir: o.cpuProfDir,
      }),
    );
    rawProxies.set(
      name,
      await startCuttle(d, world, cpus.proxy, { name: `${name}-raw`, node, cli, requireSni: false }),
    );
  }
  for (const t of o.targets) {
    const start = starters[t];
    if (!start) continue;
    try {
      await start();
    } catch (err) {
      failed.set(t, (err as Error).message.split('\n').slice(0, 6).join(' / '));
      o.log(`${t} did not start: ${(err as Error).message}`);
    }
  }
  // Once stop() has begun (end of run or a signal), nothing is restarted any more.
  let stopping = false;
  const pauser = new Pauser();
  return {
    dir,
    world,
    cpus,
    proxies,
    rawProxies,
    failed,
    nodeVersions,
    tunnelOriginPid: origin.daemon.pid,
    isDown(target) {
      return [proxies.get(target), rawProxies.get(target)].some(
        (p) => p !== undefined && hasExited(p.daemon),
      );
    },
    isolate(target, withRaw) {
      pauser.resumeAll();
      if (process.env.CUTTLE_BENCH_NO_ISOLATE) return; // the harness before 2026-12-02 12:00, for comparison
      const others: number[] = [];
      for (const [name, p] of proxies) if (name !== target && !hasExited(p.daemon)) others.push(p.daemon.pid);
      for (const [name, p] of rawProxies) {
        if ((name !== target || !withRaw) && !hasExited(p.daemon)) others.push(p.daemon.pid);
      }
      pauser.pause(others);
    },
    resume() {
      pauser.resumeAll();
    },
    async fresh(target) {
      const p = proxies.get(target);
      if (p === undefined || stopping) return;
      await p.daemon.stop();
      const daemon = respawn(p.daemon);
      proxies.set(target, { ...p, daemon });
      await waitForPort(p.port, 30_000, daemon);
    },
    async restart(target) {
      if (stopping) return false;
      for (const map of [proxies, rawProxies]) {
        const p = map.get(target);
        if (p === undefined || !hasExited(p.daemon)) continue;
        const daemon = respawn(p.daemon);
        map.set(target, { ...p, daemon });
        try {
          await waitForPort(p.port, 15_000, daemon);
        } catch {
          return false;
        }
      }
      return true;
    },
    async stop() {
      stopping = true;
      // A stopped process would not act on SIGTERM until continued.
      pauser.dispose();
      const all = [...proxies.values(), ...rawProxies.values()].map((p) => p.daemon);
      await Promise.all([...all, ...daemons].map((d) => d.stop()));
    },
  };
}
