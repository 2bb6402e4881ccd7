/**
 * The bench's side of `setup-worker.ts`: a long-lived child process that runs the set-up loops on command. It
 * inherits the bench's CPU (the load CPU). `CUTTLE_BENCH_SETUP_INPROCESS=1` runs the loops in the bench process
 * instead, as before 2026-12-04, for comparison.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { runSetupRate, type SetupResult, type TunnelTarget } from './tunnels.js';

export interface TimedSetups extends SetupResult {
  /** CPU seconds the loops' process spent on them (the worker's own, or the bench's in-process). */
  readonly cpuSeconds: number;
}

export interface SetupRunner {
  run(target: TunnelTarget, tls: boolean, concurrency: number, seconds: number): Promise<TimedSetups>;
  close(): void;
}

function selfCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** The loops in this process. */
export function inProcessRunner(): SetupRunner {
  return {
    async run(target, tls, concurrency, seconds) {
      const cpu0 = selfCpu();
      const r = await runSetupRate(target, tls, concurrency, seconds);
      return { ...r, cpuSeconds: selfCpu() - cpu0 };
    },
    close() {},
  };
}

/** The loops in a worker process of their own; one command at a time. */
export function workerRunner(): SetupRunner {
  const script = fileURLToPath(new URL('./setup-worker.js', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: Interface = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const waiting: { resolve: (r: TimedSetups) => void; reject: (e: Error) => void }[] = [];
  lines.on('line', (line) => {
    const w = waiting.shift();
    if (w === undefined) return;
    try {
      const answer = JSON.parse(line) as TimedSetups | { error: string };
      if ('error' in answer) w.reject(new Error(`set-up worker: ${answer.error}`));
      else w.resolve(answer);
    } catch {
      w.reject(new Error(`set-up worker said: ${line.slice(0, 200)}`));
    }
  });
  child.on('exit', (code, signal) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`set-up worker exited (${code ?? signal})`));
  });
  return {
    run(target, tls, concurrency, seconds) {
      return new Promise((resolve, reject) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          reject(new Error('set-up worker is not running'));
          return;
        }
        waiting.push({ resolve, reject });
        child.stdin?.write(`${JSON.stringify({ target, tls, concurrency, seconds })}\n`);
      });
    },
    close() {
      child.stdin?.end();
    },
  };
}

/** One runner for raw set-ups and one for TLS, so neither kind warms or dirties the other's process. */
export function setupRunners(): { raw: SetupRunner; tls: SetupRunner; inProcess: boolean; close(): void } {
  if (process.env.CUTTLE_BENCH_SETUP_INPROCESS) {
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
