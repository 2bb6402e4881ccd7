/**
 * The bench's side of `tunnel-worker.ts`: a long-lived child process that runs bulk transfers and set-up loops on
 * command. It inherits the bench's CPU (the load CPU). `CUTTLE_BENCH_TUNNELS_INPROCESS=1` runs them in the bench
 * process instead, as before 2026-12-04, for comparison.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type BulkResult, runBulk, runSetupRate, type SetupResult, type TunnelTarget } from './tunnels.js';

/** What the load's own process spent on a command (the worker's, or the bench's in-process). */
interface Timed {
  readonly cpuSeconds: number;
}

export interface TunnelRunner {
  setups(
    target: TunnelTarget,
    tls: boolean,
    concurrency: number,
    seconds: number,
  ): Promise<SetupResult & Timed>;
  bulk(target: TunnelTarget, tls: boolean, bytes: number): Promise<BulkResult & Timed>;
  close(): void;
}

function selfCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function timed<T>(f: () => Promise<T>): Promise<T & Timed> {
  const cpu0 = selfCpu();
  const r = await f();
  return { ...r, cpuSeconds: selfCpu() - cpu0 };
}

/** The load in this process. */
export function inProcessRunner(): TunnelRunner {
  return {
    setups: (target, tls, concurrency, seconds) =>
      timed(() => runSetupRate(target, tls, concurrency, seconds)),
    bulk: (target, tls, bytes) => timed(() => runBulk(target, tls, bytes)),
    close() {},
  };
}

/** The load in a worker process of its own; one command at a time. */
export function workerRunner(): TunnelRunner {
  const script = fileURLToPath(new URL('./tunnel-worker.js', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: Interface = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const waiting: { resolve: (r: unknown) => void; reject: (e: Error) => void }[] = [];
  lines.on('line', (line) => {
    const w = waiting.shift();
    if (w === undefined) return;
    try {
      const answer = JSON.parse(line) as { error?: string };
      if (typeof answer.error === 'string') w.reject(new Error(`tunnel worker: ${answer.error}`));
      else w.resolve(answer);
    } catch {
      w.reject(new Error(`tunnel worker said: ${line.slice(0, 200)}`));
    }
  });
  child.on('exit', (code, signal) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`tunnel worker exited (${code ?? signal})`));
  });
  const send = <T>(command: object): Promise<T> =>
    new Promise((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        reject(new Error('tunnel worker is not running'));
        return;
      }
      waiting.push({ resolve: resolve as (r: unknown) => void, reject });
      child.stdin?.write(`${JSON.stringify(command)}\n`);
    });
  return {
    setups: (target, tls, concurrency, seconds) => send({ op: 'setups', target, tls, concurrency, seconds }),
    bulk: (target, tls, bytes) => send({ op: 'bulk', target, tls, bytes }),
    close() {
      child.stdin?.end();
    },
  };
}

/** One runner for raw tunnels and one for TLS, so neither kind warms or dirties the other's process. */
export function tunnelRunners(): { raw: TunnelRunner; tls: TunnelRunner; inProcess: boolean; close(): void } {
  if (process.env.CUTTLE_BENCH_TUNNELS_INPROCESS) {
    const r = inProcessRunner();
    return { raw: r, tls: r, inProcess: true, close() {} };
  }
  const raw = workerRunner();
  const tls = workerRunner();
  return {
    raw,
    tls,
    inProcess: false,
    close() {
      raw.close();
      tls.close();
    },
  };
}
