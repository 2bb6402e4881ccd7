/**
 * `pnpm bench e2e`: the same 1 KiB GETs and CONNECT tunnels through Squid, tinyproxy, proxy-chain and cuttle (Node
 * 20 and 24) on loopback, next to the direct baseline, in alternating rounds; medians and spread. Sections:
 *   rps      closed-loop req/s with wrk, and proxy CPU µs per request from /proc
 *   latency  p50/p99 at an open-loop rate of 50% of Squid's req/s
 *   mix      closed-loop with 20% of the requests denied
 *   connect  one bulk tunnel and tunnel set-up rate, TLS (SNI check on) and raw (check off)
 *   idle     RSS with many idle tunnels open
 */
import { readFileSync, rmSync } from 'node:fs';
import { describeMachine, loadAverage } from '../report/machine.js';
import { type Summary, summarize } from '../report/stats.js';
import type { E2eReport, GoalRow, TargetInfo } from './e2e-report.js';
import { runOpenLoop } from './load/open-loop.js';
import { absoluteGet, probe } from './load/probe.js';
import { type TunnelRunner, tunnelRunners } from './load/tunnel-workers.js';
import { captureClientHello, openIdleTunnels, openTunnel, type TunnelTarget } from './load/tunnels.js';
import { runWrk } from './load/wrk.js';
import { ORIGIN_PATH } from './origins/nginx-origin.js';
import {
  ALL_TARGETS,
  type BenchWorld,
  CONNECT_ONLY_TARGETS,
  HTTP_ONLY_TARGETS,
  KNOWN_TARGETS,
  setupWorld,
} from './setup-world.js';
import { ensurePackages } from './system/install.js';
import {
  cpuBusySeconds,
  cpuSeconds,
  hasExited,
  rssBytes,
  runQueueWaitSeconds,
  tail,
} from './system/processes.js';

export { formatE2e } from './e2e-report.js';

export const ALL_SECTIONS = ['rps', 'latency', 'mix', 'connect', 'idle'] as const;

export interface E2eOptions {
  readonly quick: boolean;
  readonly durationS?: number | undefined;
  readonly rounds?: number | undefined;
  /** Rounds of the CONNECT section (default: --rounds, at most 2: a 1 GiB bulk round is long). */
  readonly connectRounds?: number | undefined;
  readonly connectMiB?: number | undefined;
  readonly targets?: readonly string[] | undefined;
  readonly sections?: readonly string[] | undefined;
  readonly cpuProfDir?: string | undefined;
}

/** Idle milliseconds given to a target after it is continued, before its run (CUTTLE_BENCH_SETTLE_MS). */
const SETTLE_MS = Number(process.env.CUTTLE_BENCH_SETTLE_MS ?? 500);
/** Seconds of unrecorded load at the latency rate before each latency run (CUTTLE_BENCH_LATENCY_WARMUP_S). */
const LATENCY_WARMUP_S = Number(process.env.CUTTLE_BENCH_LATENCY_WARMUP_S ?? 2);

const log = (line: string): void => {
  process.stderr.write(`bench e2e: ${line}\n`);
};

/** Crashes seen per target: each one is logged, counted in the report, and the target restarted if it can be. */
interface CrashBook {
  readonly dead: Map<string, string>;
  readonly crashes: Map<string, { count: number; last: string }>;
}

/**
 * Runs `fn` for each target, the order rotated by one each round, `rounds` times. A target whose daemon died
 * during its turn is counted as crashed (with the end of its log) and restarted on the same port; that turn's
 * sample is dropped. A target that cannot be restarted is skipped from then on; the others go on.
 */
async function alternate<T>(
  bw: BenchWorld,
  targets: readonly string[],
  rounds: number,
  book: CrashBook,
  fn: (t: string, round: number) => Promise<T>,
  withRaw = false,
): Promise<Map<string, T[]>> {
  const out = new Map<string, T[]>(targets.map((t) => [t, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < targets.length; i++) {
      const t = targets[(i + r) % targets.length] as string;
      if (book.dead.has(t)) continue;
      if (process.env.CUTTLE_BENCH_VERBOSE) log(`  round ${r + 1}: ${t}`);
      let value: T | undefined;
      let error: unknown = null;
      // Every other proxy stopped for the turn (whole process trees), so the target has CPU 0 to itself.
      bw.isolate(t, withRaw);
      try {
        // The target was stopped through the others' turns: on SIGCONT its overdue timers (log flush, keep-alive
        // timeouts) fire at once; let them before the load starts.
        if (t !== 'direct' && SETTLE_MS > 0) await new Promise((res) => setTimeout(res, SETTLE_MS));
        value = await fn(t, r);
      } catch (err) {
        error = err;
      } finally {
        bw.resume();
      }
      if (t !== 'direct' && bw.isDown(t)) {
        const d = [bw.proxies.get(t), bw.rawProxies.get(t)].find((p) => p && hasExited(p.daemon))?.daemon;
        const last = d
          ? `exit ${d.child.exitCode ?? d.child.signalCode}: ${tail(d.logFile, 40)
              .split('\n')
              .filter((l) => !/^\s+at /.test(l) && l.trim() !== '')
              .slice(-4)
              .join(' / ')}`
          : 'exited';
        const c = book.crashes.get(t) ?? { count: 0, last };
        book.crashes.set(t, { count: c.count + 1, last });
        log(`${t} crashed (${last}); restarting it`);
        if (!(await bw.restart(t))) {
          book.dead.set(t, `${t} crashed and could not be restarted: ${last}`);
        }
        continue;
      }
      if (error !== null) throw error;
      out.get(t)?.push(value as T);
    }
  }
  return out;
}

/** Open files this process may hold (the hard limit; the bench cannot raise it without CAP_SYS_RESOURCE). */
function nofileLimit(): number {
  try {
    const m = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(
      readFileSync('/proc/self/limits', 'utf8'),
    );
    return m && m[1] !== 'unlimited' ? Number(m[1]) : Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

export async function runE2e(o: E2eOptions): Promise<E2eReport> {
  const targets = o.targets ?? ALL_TARGETS;
  for (const t of targets) {
    if (!KNOWN_TARGETS.includes(t))
      throw new Error(`unknown target "${t}" (known: ${KNOWN_TARGETS.join(', ')})`);
  }
  const sections = new Set(o.sections ?? ALL_SECTIONS);
  const settings = {
    durationS: o.durationS ?? (o.quick ? 1 : 5),
    rounds: o.rounds ?? (o.quick ? 1 : 3),
    connectRounds: o.connectRounds ?? Math.max(1, Math.min(2, o.rounds ?? (o.quick ? 1 : 3))),
    connections: 50,
    connectBytes: Math.round((o.connectMiB ?? (o.quick ? 16 : 1024)) * 2 ** 20),
    setupConcurrency: 16,
    idleTunnels: o.quick ? 200 : 10_000,
    /** A proxy holds two sockets per tunnel: 10k tunnels need 20k+ open files. */
    idleLimit: 0,
    idleTunnelsWanted: o.quick ? 200 : 10_000,
    denyShare: 0.2,
  };
  ensurePackages(log);
  const bw = await setupWorld({ targets, cpuProfDir: o.cpuProfDir, log });
  const limit = nofileLimit();
  settings.idleLimit = Number.isFinite(limit) ? limit : 0;
  if (Number.isFinite(limit) && settings.idleTunnels * 2 + 500 > limit) {
    const capped = Math.floor((limit - 500) / 2 / 100) * 100;
    log(
      `open-file limit ${limit} (hard; not raisable here): ${capped} idle tunnels instead of ${settings.idleTunnels}`,
    );
    settings.idleTunnels = capped;
  }
  // Ctrl-C or a kill: stop every daemon we started and remove the work directory before exiting.
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping the daemons`);
    void bw.stop().finally(() => {
      if (!process.env.CUTTLE_BENCH_KEEP) rmSync(bw.dir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await measure(bw, targets, sections, settings);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await bw.stop();
    if (!process.env.CUTTLE_BENCH_KEEP) rmSync(bw.dir, { recursive: true, force: true });
  }
}

type Settings = {
  durationS: number;
  rounds: number;
  connectRounds: number;
  connections: number;
  connectBytes: number;
  setupConcurrency: number;
  idleTunnels: number;
  idleLimit: number;
  idleTunnelsWanted: number;
  denyShare: number;
};

async function measure(
  bw: BenchWorld,
  requested: readonly string[],
  sections: Set<string>,
  s: Settings,
): Promise<E2eReport> {
  const { world } = bw;
  const info: TargetInfo[] = [];
  const portOf = (t: string): number =>
    t === 'direct' ? world.originPort : (bw.proxies.get(t)?.port as number);
  const pidOf = (t: string): number | null =>
    t === 'direct' ? null : (bw.proxies.get(t)?.daemon.pid ?? null);
  const allowedReq = absoluteGet(world.allowedHost, world.originPort, ORIGIN_PATH);
  const deniedReq = absoluteGet(world.deniedHost, world.originPort, ORIGIN_PATH);

  // Check each target answers as configured; a target that does not is reported and left out.
  const live: string[] = [];
  for (const t of requested) {
    const failedWhy = bw.failed.get(t);
    if (failedWhy !== undefined) {
      info.push({ name: t, note: '', ok: false, error: failedWhy });
      continue;
    }
    try {
      if (CONNECT_ONLY_TARGETS.has(t)) {
        const s = await openTunnel({ proxyPort: portOf(t), host: world.allowedHost, port: world.tcpPort });
        s.destroy();
        live.push(t);
        info.push({ name: t, note: bw.proxies.get(t)?.note ?? '', ok: true });
        continue;
      }
      const ok = await probe(portOf(t), allowedReq);
      if (ok.status !== 200 || ok.bytes !== 1024)
        throw new Error(`allowed GET answered ${ok.status} with ${ok.bytes} bytes`);
      if (t !== 'direct') {
        const denied = await probe(portOf(t), deniedReq);
        if (denied.status !== 403) throw new Error(`denied GET answered ${denied.status}, not 403`);
      }
      live.push(t);
      info.push({
        name: t,
        note: t === 'direct' ? 'nginx 1 KiB file, no proxy' : (bw.proxies.get(t)?.note ?? ''),
        ok: true,
      });
    } catch (err) {
      info.push({ name: t, note: '', ok: false, error: `probe failed: ${(err as Error).message}` });
      log(`${t}: probe failed: ${(err as Error).message}`);
    }
  }
  const proxiesLive = live.filter((t) => t !== 'direct');
  // The sections of plain HTTP requests: every target but the CONNECT-only ones.
  const httpLive = live.filter((t) => !CONNECT_ONLY_TARGETS.has(t));
  const httpProxiesLive = proxiesLive.filter((t) => !CONNECT_ONLY_TARGETS.has(t));
  const book: CrashBook = { dead: new Map(), crashes: new Map() };
  const dead = book.dead;
  const wrkBase = {
    dir: bw.dir,
    host: world.allowedHost,
    deniedHost: world.deniedHost,
    originPort: world.originPort,
    path: ORIGIN_PATH,
    connections: s.connections,
  };
  const report: E2eReport = {
    bench: 'e2e',
    machine: describeMachine(),
    nodeVersions: bw.nodeVersions,
    settings: {
      ...s,
      cpuPinning:
        bw.cpus.proxy === undefined
          ? 'none (one CPU)'
          : `proxy on CPU ${bw.cpus.proxy}, generator and origins on CPU ${bw.cpus.load}`,
    },
    targets: info,
    rps: [],
    latency: null,
    mix: [],
    connect: [],
    idle: [],
    goals: [],
  };

  // Warm-up: JIT, connection pools, Squid's first-request work; not recorded.
  for (const t of httpLive)
    await runWrk({ ...wrkBase, port: portOf(t), durationS: Math.min(2, s.durationS), denyEvery: 0 });

  if (sections.has('rps')) {
    log(`closed-loop req/s: ${s.rounds} rounds x ${httpLive.length} targets x ${s.durationS} s`);
    const res = await alternate(bw, httpLive, s.rounds, book, async (t, round) => {
      const pid = pidOf(t);
      const cpu0 = pid === null ? 0 : cpuSeconds(pid);
      const w = await runWrk({ ...wrkBase, port: portOf(t), durationS: s.durationS, denyEvery: 0 });
      const cpu = pid === null ? Number.NaN : ((cpuSeconds(pid) - cpu0) * 1e6) / w.requests;
      return { ...w, cpuUs: cpu, round };
    });
    for (const t of httpLive) {
      const runs = res.get(t) ?? [];
      report.rps.push({
        target: t,
        reqPerSec: summarize(runs.map((r) => r.reqPerSec)),
        cpuUsPerReq: summarize(runs.map((r) => r.cpuUs).filter((v) => Number.isFinite(v))),
        errors: runs.reduce((a, r) => a + r.non2xx + r.socketErrors, 0),
        ...pairedVsSquid(runs, res.get('squid')),
      });
    }
  }

  if (sections.has('latency')) {
    const squid = report.rps.find((r) => r.target === 'squid');
    const base = squid
      ? squid.reqPerSec.median
      : Math.min(...report.rps.filter((r) => r.target !== 'direct').map((r) => r.reqPerSec.median));
    const rate = Number.isFinite(base) && base > 0 ? Math.round(base * 0.5) : 1000;
    log(`open-loop latency at ${rate} req/s (${squid ? "50% of Squid's max" : 'fallback rate'})`);
    const rounds = Math.max(1, Math.min(2, s.rounds));
    const res = await alternate(bw, httpLive, rounds, book, async (t) => {
      // Warm-up at the same rate, not recorded: a Node target resumes with a shrunk new space (Node 20: ~70
      // scavenges in its first second at this rate, ~18/s after) and its first full GC ~1.5 s into the load.
      if (LATENCY_WARMUP_S > 0)
        await runOpenLoop({
          port: portOf(t),
          request: Buffer.from(allowedReq),
          rate,
          durationS: LATENCY_WARMUP_S,
          connections: s.connections,
        });
      // How long the proxy and the generator waited for their CPUs during the run (other load on the machine).
      const pid = pidOf(t);
      const proxy0 = pid === null ? Number.NaN : runQueueWaitSeconds(pid);
      const load0 = runQueueWaitSeconds(process.pid, true);
      const t0 = performance.now();
      const o = await runOpenLoop({
        port: portOf(t),
        request: Buffer.from(allowedReq),
        rate,
        durationS: s.durationS,
        connections: s.connections,
      });
      const seconds = (performance.now() - t0) / 1000;
      const proxyWaitMsPerS =
        pid === null ? Number.NaN : ((runQueueWaitSeconds(pid) - proxy0) * 1000) / seconds;
      const loadWaitMsPerS = ((runQueueWaitSeconds(process.pid, true) - load0) * 1000) / seconds;
      return { ...o, proxyWaitMsPerS, loadWaitMsPerS };
    });
    report.latency = {
      rate,
      basis: squid ? "50% of Squid's median req/s" : "no Squid row: 50% of the slowest proxy's req/s",
      rows: httpLive.map((t) => {
        const runs = res.get(t) ?? [];
        return {
          target: t,
          p50Ms: summarize(runs.map((r) => r.p50Ms)),
          p99Ms: summarize(runs.map((r) => r.p99Ms)),
          maxMs: Math.max(...runs.map((r) => r.maxMs)),
          errors: runs.reduce((a, r) => a + r.errors, 0),
          proxyWaitMsPerS: summarize(runs.map((r) => r.proxyWaitMsPerS).filter((v) => Number.isFinite(v))),
          loadWaitMsPerS: summarize(runs.map((r) => r.loadWaitMsPerS).filter((v) => Number.isFinite(v))),
        };
      }),
    };
  }

  if (sections.has('mix')) {
    log(`closed-loop with ${s.denyShare * 100}% denied`);
    const res = await alternate(bw, httpProxiesLive, s.rounds, book, async (t, round) => {
      const pid = pidOf(t) as number;
      const cpu0 = cpuSeconds(pid);
      const w = await runWrk({
        ...wrkBase,
        port: portOf(t),
        durationS: s.durationS,
        denyEvery: Math.round(1 / s.denyShare),
      });
      return { ...w, cpuUs: ((cpuSeconds(pid) - cpu0) * 1e6) / w.requests, round };
    });
    for (const t of httpProxiesLive) {
      const runs = res.get(t) ?? [];
      const req = runs.reduce((a, r) => a + r.requests, 0);
      report.mix.push({
        target: t,
        reqPerSec: summarize(runs.map((r) => r.reqPerSec)),
        cpuUsPerReq: summarize(runs.map((r) => r.cpuUs)),
        deniedShare: req > 0 ? runs.reduce((a, r) => a + r.non2xx, 0) / req : Number.NaN,
        socketErrors: runs.reduce((a, r) => a + r.socketErrors, 0),
        ...pairedVsSquid(runs, res.get('squid')),
      });
    }
  }

  // The floor programs speak plain HTTP only.
  const tunnelling = live.filter((t) => !HTTP_ONLY_TARGETS.has(t));
  if (sections.has('connect')) {
    const rounds = s.connectRounds;
    const setupS = Math.min(3, s.durationS);
    log(
      `CONNECT: bulk ${s.connectBytes / 2 ** 20} MiB and set-up rate (${setupS} s), TLS and raw, ${rounds} rounds`,
    );
    // The bench process and the tunnel origin (plus the tunnel worker's own CPU, added per run): the load CPU's share.
    const loadCpuSeconds = (): number => {
      const self = process.cpuUsage();
      return (self.user + self.system) / 1e6 + cpuSeconds(bw.tunnelOriginPid);
    };
    const tunnel = (t: string, raw: boolean): TunnelTarget => {
      const proxy = raw ? (bw.rawProxies.get(t) ?? bw.proxies.get(t)) : bw.proxies.get(t);
      return {
        proxyPort: t === 'direct' ? null : (proxy?.port ?? null),
        host: world.allowedHost,
        port: raw ? world.tcpPort : world.tlsPort,
      };
    };
    // Warm-up, as for plain HTTP: 1 s of TLS and raw set-ups per target, not recorded. Without it the first round
    // of a freshly started Node proxy measured its JIT warming up on the set-up path (which no bulk transfer or
    // HTTP warm-up touches; the raw cuttle is a process of its own): in pinned runs of 2026-12-02 cuttle's CPU per
    // raw set-up was 445 µs in its first 3 s and 242-260 after on Node 20, 295-315 and 207-239 on Node 24, Squid's
    // 199 and 166-185 (the TLS worker's own client warms up in it too).
    // Bulk transfers and set-up loops run in worker processes of their own (load/tunnel-worker.ts), raw and TLS.
    const runners = tunnelRunners();
    const res = await (async () => {
      try {
        for (const t of tunnelling) {
          if (book.dead.has(t)) continue;
          for (const raw of [false, true]) {
            try {
              await (raw ? runners.raw : runners.tls).setups(tunnel(t, raw), !raw, s.setupConcurrency, 1);
            } catch (err) {
              log(`${t}: CONNECT warm-up: ${(err as Error).message}`);
            }
          }
        }
        return await alternate(
          bw,
          tunnelling,
          rounds,
          book,
          async (t) => {
            const safe = async <T>(f: () => Promise<T>): Promise<T | null> => {
              try {
                return await f();
              } catch (err) {
                log(`${t}: CONNECT: ${(err as Error).message}`);
                return null;
              }
            };
            // One run on the worker for its kind of tunnel, and what it cost: the proxy's CPU (NaN for direct), the
            // load CPU's (the bench and the origin, plus the worker's own CPU: zero more when the load ran in this
            // process) and the wall time.
            const costed = async <R extends { readonly cpuSeconds: number }>(
              raw: boolean,
              run: (runner: TunnelRunner) => Promise<R>,
            ) => {
              const d =
                t === 'direct'
                  ? null
                  : ((raw ? bw.rawProxies.get(t) : undefined) ?? bw.proxies.get(t))?.daemon;
              const cpu0 = d ? cpuSeconds(d.pid) : 0;
              const load0 = loadCpuSeconds();
              const t0 = performance.now();
              const r = await run(raw ? runners.raw : runners.tls);
              return {
                r,
                seconds: (performance.now() - t0) / 1000,
                proxy: d ? cpuSeconds(d.pid) - cpu0 : Number.NaN,
                load: loadCpuSeconds() - load0 + (runners.inProcess ? 0 : r.cpuSeconds),
              };
            };
            // The proxy's CPU use during a bulk transfer: near 100% means the proxy, not the origin or client, is the limit.
            const bulk = async (raw: boolean) => {
              const busy0 = bw.cpus.load === undefined ? Number.NaN : cpuBusySeconds(bw.cpus.load);
              const { r, proxy, load } = await costed(raw, (w) =>
                w.bulk(tunnel(t, raw), !raw, s.connectBytes),
              );
              const busy = bw.cpus.load === undefined ? Number.NaN : cpuBusySeconds(bw.cpus.load) - busy0;
              const mib = r.bytes / 2 ** 20;
              return {
                ...r,
                cpuPct: (proxy / r.seconds) * 100,
                cpuMsPerMiB: (proxy * 1000) / mib,
                loadCpuPct: (load / r.seconds) * 100,
                // The TLS rows are paced by the load CPU: what the client and origin spent per MiB behind this target,
                // and how much of that CPU the rest of the machine took meanwhile (a run where it is large is not read).
                loadMsPerMiB: (load * 1000) / mib,
                otherLoadPct: Math.max(0, ((busy - load) / r.seconds) * 100),
              };
            };
            // The proxy's CPU per tunnel set up: steadier than the rate on a loaded machine.
            const setup = async (raw: boolean) => {
              const { r, seconds, proxy, load } = await costed(raw, (w) =>
                w.setups(tunnel(t, raw), !raw, s.setupConcurrency, setupS),
              );
              return {
                ...r,
                cpuUs: r.completed > 0 ? (proxy * 1e6) / r.completed : Number.NaN,
                // Neither CPU near 100% means the rate was set by latency (16 loops in flight), not by either side's CPU.
                cpuPct: (proxy / seconds) * 100,
                loadCpuPct: (load / seconds) * 100,
                loadUs: r.completed > 0 ? (load * 1e6) / r.completed : Number.NaN,
              };
            };
            return {
              tlsBulk: await safe(() => bulk(false)),
              rawBulk: await safe(() => bulk(true)),
              tlsSetup: await safe(() => setup(false)),
              rawSetup: await safe(() => setup(true)),
            };
          },
          true,
        );
      } finally {
        runners.close();
      }
    })();
    const vals = (xs: (number | undefined)[]) => summarize(xs.filter((x): x is number => x !== undefined));
    const finite = (xs: (number | undefined)[]) =>
      vals(xs.filter((v) => v === undefined || Number.isFinite(v)));
    type SetupRun = { cpuPct: number; loadCpuPct: number; loadUs: number } | null | undefined;
    const setupCost = (xs: SetupRun[]) => ({
      cpuPct: finite(xs.map((x) => x?.cpuPct)),
      loadCpuPct: finite(xs.map((x) => x?.loadCpuPct)),
      loadUs: finite(xs.map((x) => x?.loadUs)),
    });
    for (const t of tunnelling) {
      const runs = res.get(t) ?? [];
      report.connect.push({
        target: t,
        tlsBulkMiBps: vals(runs.map((r) => r.tlsBulk?.mibPerSec)),
        rawBulkMiBps: vals(runs.map((r) => r.rawBulk?.mibPerSec)),
        tlsBulkCpuPct: finite(runs.map((r) => r.tlsBulk?.cpuPct)),
        rawBulkCpuPct: finite(runs.map((r) => r.rawBulk?.cpuPct)),
        tlsBulkLoadCpuPct: vals(runs.map((r) => r.tlsBulk?.loadCpuPct)),
        tlsBulkLoadMsPerMiB: vals(runs.map((r) => r.tlsBulk?.loadMsPerMiB)),
        tlsBulkOtherLoadPct: finite(runs.map((r) => r.tlsBulk?.otherLoadPct)),
        tlsBulkCpuMsPerMiB: finite(runs.map((r) => r.tlsBulk?.cpuMsPerMiB)),
        rawBulkCpuMsPerMiB: finite(runs.map((r) => r.rawBulk?.cpuMsPerMiB)),
        rawBulkLoadCpuPct: vals(runs.map((r) => r.rawBulk?.loadCpuPct)),
        tlsSetupPerSec: vals(runs.map((r) => r.tlsSetup?.perSec)),
        tlsSetupCpuUs: finite(runs.map((r) => r.tlsSetup?.cpuUs)),
        rawSetupCpuUs: finite(runs.map((r) => r.rawSetup?.cpuUs)),
        rawSetupPerSec: vals(runs.map((r) => r.rawSetup?.perSec)),
        tlsSetupCost: setupCost(runs.map((r) => r.tlsSetup)),
        rawSetupCost: setupCost(runs.map((r) => r.rawSetup)),
        errors: runs.reduce(
          (a, r) =>
            a +
            (r.tlsSetup?.errors ?? 1) +
            (r.rawSetup?.errors ?? 1) +
            (r.tlsBulk ? 0 : 1) +
            (r.rawBulk ? 0 : 1),
          0,
        ),
      });
    }
  }

  if (sections.has('idle')) {
    log(`RSS of a freshly started proxy, then with ${s.idleTunnels} idle tunnels`);
    const hello = await captureClientHello(world.allowedHost);
    const idleTargets = tunnelling.filter((t) => t !== 'direct');
    const res = await alternate(bw, idleTargets, 1, book, async (t) => {
      // A fresh process, so the rows compare the proxies' own footprint and not what earlier load left behind.
      await bw.fresh(t);
      await new Promise((r) => setTimeout(r, 1000));
      const pid = pidOf(t) as number;
      const before = rssBytes(pid);
      const idle = await openIdleTunnels(
        { proxyPort: portOf(t), host: world.allowedHost, port: world.tcpPort },
        s.idleTunnels,
        100,
        hello,
      );
      await new Promise((r) => setTimeout(r, 1000));
      const after = rssBytes(pid);
      idle.close();
      await new Promise((r) => setTimeout(r, 1000));
      return {
        target: t,
        requested: s.idleTunnels,
        opened: idle.opened,
        rssIdleMiB: before / 2 ** 20,
        rssTunnelsMiB: after / 2 ** 20,
        kibPerTunnel: idle.opened > 0 ? (after - before) / 1024 / idle.opened : Number.NaN,
      };
    });
    for (const t of idleTargets) report.idle.push(...(res.get(t) ?? []));
  }
  for (const [t, c] of book.crashes) {
    const i = report.targets.findIndex((x) => x.name === t);
    if (i !== -1)
      report.targets[i] = { ...(report.targets[i] as TargetInfo), crashes: c.count, lastCrash: c.last };
  }
  for (const [t, why] of dead) {
    const i = report.targets.findIndex((x) => x.name === t);
    if (i !== -1) report.targets[i] = { ...(report.targets[i] as TargetInfo), ok: false, error: why };
  }
  report.goals.push(...e2eGoals(report));
  report.machine.loadAvgEnd = loadAverage();
  return report;
}

interface RoundSample {
  readonly round: number;
  readonly reqPerSec: number;
  readonly cpuUs: number;
}

/**
 * Ratios to Squid taken round by round (each target against Squid's run of the same round, minutes apart at most)
 * and then summarised: on a shared machine the load drifts between rounds, and a ratio of two medians taken from
 * different rounds mixes that drift in. Empty when there is no Squid row.
 */
function pairedVsSquid(
  runs: readonly RoundSample[],
  squid: readonly RoundSample[] | undefined,
): { rpsVsSquid?: Summary; cpuVsSquid?: Summary } {
  if (squid === undefined || squid.length === 0) return {};
  const rps: number[] = [];
  const cpu: number[] = [];
  for (const r of runs) {
    const q = squid.find((x) => x.round === r.round);
    if (q === undefined) continue;
    rps.push(r.reqPerSec / q.reqPerSec);
    if (Number.isFinite(r.cpuUs) && Number.isFinite(q.cpuUs)) cpu.push(r.cpuUs / q.cpuUs);
  }
  return { rpsVsSquid: summarize(rps), cpuVsSquid: summarize(cpu) };
}

function ratio(a: Summary | undefined, b: Summary | undefined): number {
  return a && b ? a.median / b.median : Number.NaN;
}

function e2eGoals(r: E2eReport): GoalRow[] {
  const goals: GoalRow[] = [];
  const squidRps = r.rps.find((x) => x.target === 'squid');
  const squidConnect = r.connect.find((x) => x.target === 'squid');
  const directConnect = r.connect.find((x) => x.target === 'direct');
  const squidMix = r.mix.find((x) => x.target === 'squid');
  // Issue 12: Node 24 >= 1.3x Squid's req/s and <= 0.75x its CPU per request (aim 1.5x and 0.65x), Node 20 >= 1.1x
  // and <= 0.9x; on plain GETs and on the 20%-denied mix alike. Each ratio is the median of per-round ratios.
  const thresholds: Record<string, { rps: number; rpsAim: number; cpu: number; cpuAim: number }> = {
    'cuttle-node20': { rps: 1.1, rpsAim: 1.5, cpu: 0.9, cpuAim: 0.65 },
    'cuttle-node24': { rps: 1.3, rpsAim: 1.5, cpu: 0.75, cpuAim: 0.65 },
  };
  for (const c of ['cuttle-node20', 'cuttle-node24']) {
    const t = thresholds[c] as { rps: number; rpsAim: number; cpu: number; cpuAim: number };
    const sections = [
      { what: 'plain GETs', row: r.rps.find((x) => x.target === c), squid: squidRps },
      { what: '20% denied', row: r.mix.find((x) => x.target === c), squid: squidMix },
    ];
    for (const { what, row, squid } of sections) {
      if (!row || !squid) continue;
      const q = row.rpsVsSquid?.n ? row.rpsVsSquid.median : ratio(row.reqPerSec, squid.reqPerSec);
      goals.push({
        goal: `${c}: ${what}: req/s >= ${t.rps}x Squid (aim ${t.rpsAim}x)`,
        measured: q,
        met: q >= t.rps,
        aimMet: q >= t.rpsAim,
      });
      const cpu = row.cpuVsSquid?.n ? row.cpuVsSquid.median : ratio(row.cpuUsPerReq, squid.cpuUsPerReq);
      goals.push({
        goal: `${c}: ${what}: CPU per request <= ${t.cpu}x Squid's (aim ${t.cpuAim}x)`,
        measured: cpu,
        met: cpu <= t.cpu,
        aimMet: cpu <= t.cpuAim,
      });
    }
    const con = r.connect.find((x) => x.target === c);
    if (con && squidConnect) {
      const q = ratio(con.tlsBulkMiBps, squidConnect.tlsBulkMiBps);
      goals.push({
        goal: `${c}: CONNECT bulk (TLS) >= Squid's`,
        measured: q,
        met: q >= 1.0,
        aimMet: q >= 1.0,
      });
    }
    if (con && squidConnect) {
      // Issue 12: the set-up rate too, and the raw rows (no TLS work on the load CPU, so more of it is the proxy).
      for (const [goal, mine, theirs] of [
        ["CONNECT bulk (raw) >= Squid's", con.rawBulkMiBps, squidConnect.rawBulkMiBps],
        ["CONNECT set-up rate (TLS) >= Squid's", con.tlsSetupPerSec, squidConnect.tlsSetupPerSec],
        ["CONNECT set-up rate (raw) >= Squid's", con.rawSetupPerSec, squidConnect.rawSetupPerSec],
      ] as const) {
        const q = ratio(mine, theirs);
        goals.push({ goal: `${c}: ${goal}`, measured: q, met: q >= 1.0, aimMet: q >= 1.0 });
      }
    }
    if (con && directConnect) {
      const q = ratio(con.tlsBulkMiBps, directConnect.tlsBulkMiBps);
      goals.push({
        goal: `${c}: CONNECT bulk (TLS) >= 0.85x direct`,
        measured: q,
        met: q >= 0.85,
        aimMet: q >= 0.85,
      });
    }
  }
  return goals;
}
