/**
 * The client writes of one event-loop turn leave together, at the turn's end (one `setImmediate`), rather than one
 * by one while the turn goes on.
 *
 * Why (issue 12): on loopback, and on any host where the client's CPU sleeps between answers, every answer that
 * reaches a client asleep in epoll costs the proxy a wake-up inside its own write (on this machine kind a vCPU
 * wake-up: `sock_def_readable` -> `_raw_spin_unlock_irqrestore`, 9.5% of cuttle's CPU at 1 KiB GETs, perf). Written
 * one by one as the origins' answers are parsed, ~15 µs apart, each answer finds the client asleep again; written
 * together, the first wakes it and the others find it awake. The bare floor of bench/ (node:http + undici), its
 * answers ended at the turn's end, side by side on Node 24 (5 alternating rounds, proxy pinned to CPU 0): 32.3 ->
 * 28.3 µs per request, 31.4k -> 35.9k req/s. undici already writes its requests to origins this way (its
 * `setImmediate` resume), which is why the origins' wake-ups cost a fraction of the clients'.
 *
 *   hold(res)       the socket is corked (nothing it is given is written yet) until the turn's end
 *   end(res, body)  a held response is ended at the turn's end; one that is not held, at once
 *   turn's end      every held response is ended (node's end() uncorks and writes head, body and end in one
 *                   writev) or, when its answer is still streaming in, uncorked: from then on it writes as usual
 *
 * Nothing waits longer than the rest of the turn, and nothing held grows without bound: a body that streams over
 * several turns is uncorked at the end of the first, and backpressure (`write` returning false, then 'drain')
 * works as before, the drain coming once the turn's end uncorked the socket.
 */
import type { ServerResponse } from 'node:http';

const HELD = Symbol('cuttle.held');
/** A response and its position in this turn's queue (-1 or absent: not held). */
type Holdable = ServerResponse & { [HELD]?: number };

/** The queue's marker for a held response whose answer is not complete yet. */
const OPEN = Symbol('open');
/** The queue's marker for a held response ended without a last chunk. */
const NO_BODY = Symbol('no body');

let queue: Holdable[] = [];
let ends: (string | typeof OPEN | typeof NO_BODY)[] = [];
let scheduled = false;

/**
 * Holds what `res` writes until the end of this event-loop turn. A response without a socket (a pipelined one
 * waiting for its turn on the connection: node buffers it anyway) or whose socket is gone is not held.
 */
export function hold(res: ServerResponse): void {
  const r = res as Holdable;
  const socket = r.socket;
  if (socket === null || socket.destroyed || (r[HELD] ?? -1) !== -1) return;
  socket.cork();
  r[HELD] = queue.length;
  queue.push(r);
  ends.push(OPEN);
  if (!scheduled) {
    scheduled = true;
    setImmediate(release);
  }
}

/** Ends `res` (with `body`, when given): at the end of this turn when it is held, else now. */
export function end(res: ServerResponse, body?: string): void {
  const i = (res as Holdable)[HELD] ?? -1;
  if (i === -1) {
    if (body === undefined) res.end();
    else res.end(body);
    return;
  }
  ends[i] = body ?? NO_BODY;
}

/** The turn's end: every held response ended or let go, in the order they were held. */
function release(): void {
  scheduled = false;
  const q = queue;
  const e = ends;
  queue = [];
  ends = [];
  for (let i = 0; i < q.length; i++) {
    const res = q[i] as Holdable;
    res[HELD] = -1;
    const last = e[i];
    if (last === OPEN) {
      // Still streaming: let it write as it goes from now on (our one cork level).
      res.socket?.uncork();
    } else if (res.destroyed) {
      // The client went away meanwhile: nothing to end (the response's 'close' did the bookkeeping).
    } else if (last === NO_BODY) res.end();
    else res.end(last);
  }
}
