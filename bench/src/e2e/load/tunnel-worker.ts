/**
 * The tunnel load (bulk transfers and set-up loops) in a process of its own (`node tunnel-worker.js`), as wrk is
 * for plain HTTP: one JSON command a line on stdin, one JSON answer a line on stdout. The bench starts one worker
 * for raw tunnels and one for TLS, so neither carries the bench's own state (its heap, the other kind of load)
 * into what it times.
 *
 *   {"op":"setups","target":{"proxyPort":N|null,"host":"...","port":N},"tls":bool,"concurrency":N,"seconds":S}
 *     -> {"completed":N,"errors":N,"perSec":R,"cpuSeconds":C}
 *   {"op":"bulk","target":{...},"tls":bool,"bytes":N}
 *     -> {"bytes":N,"seconds":S,"mibPerSec":R,"cpuSeconds":C}
 *   (or {"error":"..."} for either)
 *
 * Why (bench/README.md, "Results: 2026-12-04 19:05-20:55"): the same proxies, pinned, 16 loops, raw set-ups from a
 * fresh Node process: cuttle on Node 24 at 1.01-1.08x Squid's rate; from a process that had just run TLS transfers
 * and TLS set-ups straight to the origin (no proxy involved): 0.93x, with the client's own CPU per set-up 72 -> 77-83 µs.
 * The bench process's TLS bulk client spent 2.04-2.23 ms of load CPU per MiB, a fresh process 1.06-1.10.
 */
import { createInterface } from 'node:readline';
import { inProcessRunner } from './tunnel-workers.js';
import type { TunnelTarget } from './tunnels.js';

type Command =
  | {
      readonly op: 'setups';
      readonly target: TunnelTarget;
      readonly tls: boolean;
      readonly concurrency: number;
      readonly seconds: number;
    }
  | { readonly op: 'bulk'; readonly target: TunnelTarget; readonly tls: boolean; readonly bytes: number };

// The worker runs the load in its own process: what the bench runs in-process with CUTTLE_BENCH_TUNNELS_INPROCESS.
const runner = inProcessRunner();

function perform(c: Command): Promise<object> {
  switch (c.op) {
    case 'setups':
      return runner.setups(c.target, c.tls, c.concurrency, c.seconds);
    case 'bulk':
      return runner.bulk(c.target, c.tls, c.bytes);
    default:
      throw new Error(`unknown op ${JSON.stringify((c as { op?: unknown }).op)}`);
  }
}

const lines = createInterface({ input: process.stdin });
// One command at a time: the bench waits for each answer before it sends the next.
let queue: Promise<void> = Promise.resolve();
lines.on('line', (line) => {
  queue = queue.then(async () => {
    try {
      const r = await perform(JSON.parse(line) as Command);
      process.stdout.write(`${JSON.stringify(r)}\n`);
    } catch (err) {
      process.stdout.write(`${JSON.stringify({ error: (err as Error).message })}\n`);
    }
  });
});
lines.on('close', () => {
  void queue.then(() => process.exit(0));
});
