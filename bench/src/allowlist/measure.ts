/** Timing and allocation loops for the allowlist bench. */
import { GCProfiler, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** One decide function under test; it returns something truthy-or-not so the loop cannot be optimised away. */
export type DecideFn = (index: number) => unknown;

/** Runs `fn` over indexes 0..iterations-1 and returns ns per call. */
export function timeLoop(fn: DecideFn, iterations: number): number {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) if (fn(i)) sink++;
  const ns = Number(process.hrtime.bigint() - start);
  if (sink === -1) console.log(sink); // keeps `sink` alive
  return ns / iterations;
}

/** How many iterations take about `targetMs` (at least `min`). */
export function calibrate(fn: DecideFn, targetMs: number, min: number): number {
  let n = 16;
  for (;;) {
    const nsPer = timeLoop(fn, n);
    const total = (nsPer * n) / 1e6;
    if (total >= targetMs / 8 || n >= 1 << 26) return Math.max(min, Math.ceil((targetMs * 1e6) / nsPer));
    n *= 4;
  }
}

let gcFn: (() => void) | undefined;
/** A handle on V8's gc() without needing --expose-gc on the command line. */
function forceGc(): void {
  if (gcFn === undefined) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
}

/**
 * Bytes allocated per call of `fn`: heap used after minus before, plus what each GC in between freed (from
 * v8.GCProfiler), divided by `iterations`. Precise to a few bytes per call for large loops.
 */
export function bytesPerCall(fn: DecideFn, iterations: number): number {
  forceGc();
  const profiler = new GCProfiler();
  profiler.start();
  const before = process.memoryUsage().heapUsed;
  let sink = 0;
  for (let i = 0; i < iterations; i++) if (fn(i)) sink++;
  const after = process.memoryUsage().heapUsed;
  const stats = profiler.stop();
  let freed = 0;
  for (const s of stats?.statistics ?? []) {
    freed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
  }
  if (sink === -1) console.log(sink);
  return Math.max(0, (after - before + freed) / iterations);
}
