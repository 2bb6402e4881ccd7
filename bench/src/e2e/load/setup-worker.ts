/**
 * The tunnel set-up loops in a process of their own (`node setup-worker.js`), as wrk is for plain HTTP: one JSON
 * command a line on stdin, one JSON answer a line on stdout. The bench starts one worker for raw set-ups and one for
 * TLS set-ups, so neither carries the bench's own state (its heap, a 1 GiB TLS transfer just decrypted, the other
 * kind of set-up) into the loops it times.
 *
 *   {"target":{"proxyPort":N|null,"host":"...","port":N},"tls":bool,"concurrency":N,"seconds":S}
 *     -> {"completed":N,"errors":N,"perSec":R,"cpuSeconds":C}      (or {"error":"..."})
 *
 * Why (bench/README.md, "Results: 2026-12-04 19:05-19:55"): the same proxies, pinned, 16 loops, raw set-ups from a
 * fresh Node process: cuttle on Node 24 at 1.01-1.08x Squid's rate; from a process that had just run TLS transfers
 * and TLS set-ups straight to the origin (no proxy involved): 0.93x, with the client's own CPU per set-up 72 -> 77-83 µs.
 */
import { createInterface } from 'node:readline';
import { runSetupRate, type TunnelTarget } from './tunnels.js';

interface Command {
  readonly target: TunnelTarget;
  readonly tls: boolean;
  readonly concurrency: number;
  readonly seconds: number;
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

const lines = createInterface({ input: process.stdin });
// One command at a time: the bench waits for each answer before it sends the next.
let queue: Promise<void> = Promise.resolve();
lines.on('line', (line) => {
  queue = queue.then(async () => {
    try {
      const c = JSON.parse(line) as Command;
      const cpu0 = cpuSeconds();
      const r = await runSetupRate(c.target, c.tls, c.concurrency, c.seconds);
      process.stdout.write(`${JSON.stringify({ ...r, cpuSeconds: cpuSeconds() - cpu0 })}\n`);
    } catch (err) {
      process.stdout.write(`${JSON.stringify({ error: (err as Error).message })}\n`);
    }
  });
});
lines.on('close', () => {
  void queue.then(() => process.exit(0));
});
