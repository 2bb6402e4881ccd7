/**
 * Child daemons for the e2e bench: spawned pinned to a CPU, waited for on their port, measured from /proc (CPU
 * ticks and RSS summed over the process and all its descendants, so Squid's helpers and kids count) and stopped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync, readdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/** Clock ticks per second for /proc/PID/stat utime and stime (USER_HZ, 100 on Linux). */
const CLK_TCK = 100;

/** A started daemon. */
export interface Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logFile: string;
  /** How it was started, for `respawn`. */
  readonly options: SpawnOptions;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Pin to this CPU with `taskset -c` (the PID stays the daemon's: taskset execs). */
  readonly cpu?: number | undefined;
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** Spawns a daemon with stdout and stderr appended to `logFile`. */
export function spawnDaemon(o: SpawnOptions): Daemon {
  const fd = openSync(o.logFile, 'a');
  const [cmd, args] =
    o.cpu === undefined ? [o.command, [...o.args]] : ['taskset', ['-c', String(o.cpu), o.command, ...o.args]];
  const child = spawn(cmd, args, {
    stdio: ['ignore', fd, fd],
    env: o.env ?? process.env,
    ...(o.cwd ? { cwd: o.cwd } : {}),
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  child.once('error', () => {});
  if (child.pid === undefined) throw new Error(`${o.name}: could not spawn ${o.command}`);
  const pid = child.pid;
  return {
    name: o.name,
    child,
    pid,
    logFile: o.logFile,
    options: o,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** True once the daemon's process has exited. */
export function hasExited(d: Daemon): boolean {
  return d.child.exitCode !== null || d.child.signalCode !== null;
}

/** Starts the same command again (same config, same ports); its output is appended to the same log. */
export function respawn(d: Daemon): Daemon {
  return spawnDaemon(d.options);
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port; throws after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number, daemon?: Daemon): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (daemon && (daemon.child.exitCode !== null || daemon.child.signalCode !== null)) {
      throw new Error(
        `${daemon.name} exited (code ${daemon.child.exitCode}); see ${daemon.logFile}:\n${tail(daemon.logFile)}`,
      );
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) {
      throw new Error(
        `nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms${daemon ? ` (${daemon.name}, log ${daemon.logFile}):\n${tail(daemon.logFile)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** A free TCP port on 127.0.0.1 (bound on port 0, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0 }, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

interface ProcStat {
  /** R, S, T, Z, ... */
  readonly state: string;
  readonly ppid: number;
  readonly ticks: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // After the name: state(3) ppid(4) ... utime(14) stime(15), i.e. indexes 1, 11 and 12 here.
    return { state: f[0] ?? '', ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return null;
  }
}

/** The state letter of /proc/PID/stat (R, S, T, Z, ...), or null once the process is gone. */
export function procState(pid: number): string | null {
  return readStat(pid)?.state ?? null;
}

/** `pid` and all its descendants that are alive now. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const st = readStat(Number(entry));
    if (st === null) continue;
    const list = children.get(st.ppid);
    if (list) list.push(Number(entry));
    else children.set(st.ppid, [Number(entry)]);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.pop() as number;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/** CPU seconds (user + system) used so far by `pid` and its descendants. */
export function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) ticks += readStat(p)?.ticks ?? 0;
  return ticks / CLK_TCK;
}

/**
 * Seconds that the main thread of `pid` (and of each of its descendants, unless `alone`) has so far spent runnable
 * but waiting for a CPU (the second field of /proc/PID/task/PID/schedstat), or NaN where the kernel keeps no
 * schedstats. Other load on the proxy's CPU (or on the generator's) shows up here, and it is what moves a p99 from
 * run to run. Main threads only: a Node proxy's helper threads (the thread pool writing the access log, V8's GC
 * helpers) wait behind its own main thread on the one pinned CPU, which says nothing about the event loop.
 */
export function runQueueWaitSeconds(pid: number, alone = false): number {
  let ns = 0;
  let seen = false;
  for (const p of alone ? [pid] : processTree(pid)) {
    try {
      ns += Number(readFileSync(`/proc/${p}/task/${p}/schedstat`, 'utf8').split(' ')[1]);
      seen = true;
    } catch {
      // exited meanwhile, or no schedstat
    }
  }
  return seen ? ns / 1e9 : Number.NaN;
}

/**
 * Seconds CPU `cpu` has been busy (every field of its /proc/stat line but idle and iowait), whoever ran on it: with
 * the load processes' own CPU time it says how much of the load CPU other processes of the machine took.
 */
export function cpuBusySeconds(cpu: number): number {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${cpu} `));
  if (line === undefined) return Number.NaN;
  // user nice system idle iowait irq softirq steal (guest time is already inside user and nice).
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const busy = f.reduce((a, b) => a + b, 0) - (f[3] ?? 0) - (f[4] ?? 0);
  return busy / CLK_TCK;
}

/** Resident memory in bytes of `pid` and its descendants. */
export function rssBytes(pid: number): number {
  let kb = 0;
  for (const p of processTree(pid)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      kb += m ? Number(m[1]) : 0;
    } catch {
      // exited meanwhile
    }
  }
  return kb * 1024;
}

/**
 * Stops (SIGSTOP) whole process trees and continues them (SIGCONT), so that the proxy under test has its CPU to
 * itself: the idle targets pinned to the same CPU otherwise run their timers, GC and log flushes next to it. Every
 * pid stopped is remembered until continued; `resumeAll` (also run on process exit, synchronously) continues any
 * that are left, so no target stays stopped past the bench.
 */
export class Pauser {
  readonly #stopped = new Set<number>();
  readonly #onExit = (): void => this.resumeAll();

  constructor() {
    process.on('exit', this.#onExit);
  }

  /**
   * Stops every process of the trees rooted at `roots`, and waits (up to `timeoutMs`) until each one is in state T:
   * a signal is delivered when its process is next scheduled, not when kill(2) returns.
   */
  pause(roots: readonly number[], timeoutMs = 1_000): void {
    const now: number[] = [];
    for (const root of roots) {
      for (const p of processTree(root)) {
        if (p === process.pid) continue;
        try {
          process.kill(p, 'SIGSTOP');
          this.#stopped.add(p);
          now.push(p);
        } catch {
          // exited meanwhile
        }
      }
    }
    const deadline = Date.now() + timeoutMs;
    const tick = new Int32Array(new SharedArrayBuffer(4));
    while (now.some((p) => !['T', 't', 'Z', 'X', null].includes(procState(p))) && Date.now() < deadline) {
      Atomics.wait(tick, 0, 0, 1);
    }
  }

  /** Continues every process stopped so far. */
  resumeAll(): void {
    for (const p of this.#stopped) {
      try {
        process.kill(p, 'SIGCONT');
      } catch {
        // exited meanwhile
      }
    }
    this.#stopped.clear();
  }

  /** How many processes are stopped now (for tests and logs). */
  get stopped(): number {
    return this.#stopped.size;
  }

  dispose(): void {
    this.resumeAll();
    process.off('exit', this.#onExit);
  }
}
