/**
 * Descriptor exhaustion, made visible and handled. Node gives no event at RLIMIT_NOFILE: at the limit libuv accepts
 * and closes connections silently, and every new socket or file (an upstream connection, the metrics listener's
 * own clients) fails. So the open descriptors are counted (/proc/self/fd) and compared with the soft limit; near it
 * the proxy listeners stop taking connections (each one is closed as it arrives, before anything is read) and take
 * them again once enough were freed. The metrics listener is exempt: the reserve is what keeps /metrics up.
 *
 *   count (every second; every 100 ms past half the limit; at once when the accept budget is spent)
 *   open >= pauseAt --> paused: stderr message (then at most every 10 s), metric, proxy connections closed at accept
 *   open <  resumeBelow --> accepting again: stderr message with how many were refused meanwhile
 *   else --> a budget of the headroom (pauseAt - open): that many connections are accepted before the next count,
 *            so a burst between two counts cannot run past the mark (their upstream sockets come from the reserve)
 */
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';

/** When to stop and when to resume accepting, for a soft limit of `limit` descriptors. */
export interface DescriptorThresholds {
  readonly limit: number;
  readonly pauseAt: number;
  readonly resumeBelow: number;
}

/**
 * The reserve is 10% of the limit, at least 32 and at most 1024 descriptors: room for in-flight requests' upstream
 * connections, the metrics listener, a log reopen. Accepting resumes a second reserve lower, so it does not flap.
 */
export function descriptorThresholds(limit: number): DescriptorThresholds {
  const reserve = Math.min(1024, Math.max(32, Math.floor(limit / 10)));
  const pauseAt = Math.max(1, limit - reserve);
  return { limit, pauseAt, resumeBelow: Math.max(1, pauseAt - reserve) };
}

/** Whether to be paused after seeing `open` descriptors (hysteresis between the two thresholds). */
export function shouldPause(open: number, t: DescriptorThresholds, paused: boolean): boolean {
  return paused ? open >= t.resumeBelow : open >= t.pauseAt;
}

/** The soft RLIMIT_NOFILE from /proc/self/limits, or null when it cannot be read or is unlimited. */
export function readNofileLimit(text?: string): number | null {
  let limits = text;
  if (limits === undefined) {
    try {
      limits = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return null;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(limits);
  if (m === null || m[1] === 'unlimited') return null;
  return Number(m[1]);
}

/** Open descriptors of this process now (the directory handle readdir itself holds is left out). */
export async function countOpenDescriptors(): Promise<number> {
  return (await readdir('/proc/self/fd')).length - 1;
}

/** How often to count: every second with room to spare, ten times a second once past half the limit. */
const SLOW_MS = 1000;
const FAST_MS = 100;
/** Repeat the "not accepting" message at most this often while paused. */
const REPEAT_MS = 10_000;

export interface DescriptorGuardOptions {
  readonly say: (line: string) => void;
  /**
   * Told after every count: `accepting` false = close proxy connections at accept; `budget` = how many may be
   * accepted before `recount` must be called.
   */
  readonly apply: (accepting: boolean, budget: number, recount: () => void) => void;
  /** How many proxy connections were closed at accept so far (for the messages). */
  readonly refused: () => number;
  /** Overrides for tests. */
  readonly limit?: number | null;
  readonly count?: () => Promise<number>;
}

/** A running guard. */
export interface DescriptorGuard {
  /** True while proxy connections are refused for lack of descriptors. */
  readonly paused: boolean;
  stop(): void;
}

/** Starts counting. Does nothing where the limit cannot be read (no /proc, or unlimited). */
export function startDescriptorGuard(options: DescriptorGuardOptions): DescriptorGuard {
  const limit = options.limit === undefined ? readNofileLimit() : options.limit;
  if (limit === null) return { paused: false, stop: () => {} };
  const t = descriptorThresholds(limit);
  const count = options.count ?? countOpenDescriptors;
  let paused = false;
  let lastSaid = 0;
  let refusedAtPause = 0;
  let timer: NodeJS.Timeout | null = null;
  let counting = false;
  let stopped = false;
  const recount = (): void => {
    if (counting || stopped) return;
    if (timer !== null) clearTimeout(timer);
    void tick();
  };
  const tick = async (): Promise<void> => {
    counting = true;
    let open: number;
    try {
      open = await count();
    } catch {
      // EMFILE on the directory itself: as full as it gets.
      open = limit;
    }
    counting = false;
    if (stopped) return;
    const next = shouldPause(open, t, paused);
    const now = Date.now();
    if (next && !paused) {
      paused = true;
      refusedAtPause = options.refused();
      lastSaid = now;
      options.say(
        `file descriptors: ${open} of ${limit} open (RLIMIT_NOFILE): not accepting proxy connections until fewer than ${t.resumeBelow} are open`,
      );
    } else if (!next && paused) {
      paused = false;
      options.say(
        `file descriptors: ${open} of ${limit} open: accepting proxy connections again (${options.refused() - refusedAtPause} refused meanwhile)`,
      );
    } else if (paused && now - lastSaid >= REPEAT_MS) {
      lastSaid = now;
      options.say(
        `file descriptors: still ${open} of ${limit} open: not accepting proxy connections (${options.refused() - refusedAtPause} refused so far)`,
      );
    }
    options.apply(!paused, paused ? 0 : t.pauseAt - open, recount);
    timer = setTimeout(() => void tick(), open * 2 >= limit ? FAST_MS : SLOW_MS);
    timer.unref();
  };
  void tick();
  return {
    get paused() {
      return paused;
    },
    stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
    },
  };
}
