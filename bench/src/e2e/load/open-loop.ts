/**
 * An open-loop generator (wrk2's idea, in Node on raw sockets): requests are due at a fixed rate whether or not
 * earlier ones have been answered; a due request waits for a free keep-alive connection, and its latency counts
 * from when it was due, so a stall shows in the tail instead of silently lowering the rate (no coordinated
 * omission).
 */
import { connect, type Socket } from 'node:net';
import { quantileSorted } from '../../report/stats.js';

export interface OpenLoopOptions {
  readonly port: number;
  readonly request: Buffer;
  readonly rate: number;
  readonly durationS: number;
  readonly connections: number;
}

export interface OpenLoopResult {
  readonly rate: number;
  readonly sent: number;
  readonly completed: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Finds the end of one HTTP/1.1 response in `buf` from `start`; -1 if incomplete. Handles Content-Length and chunked. */
export function responseEnd(buf: Buffer, start: number): number {
  const headEnd = buf.indexOf('\r\n\r\n', start, 'latin1');
  if (headEnd === -1) return -1;
  const head = buf.toString('latin1', start, headEnd).toLowerCase();
  const cl = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (cl) {
    const end = headEnd + 4 + Number(cl[1]);
    return end <= buf.length ? end : -1;
  }
  if (/\r\ntransfer-encoding:[^\r]*chunked/.test(head)) {
    const last = buf.indexOf('\r\n0\r\n\r\n', headEnd + 2, 'latin1');
    return last === -1 ? -1 : last + 7;
  }
  return headEnd + 4;
}

interface Conn {
  readonly socket: Socket;
  buf: Buffer;
  due: number;
  busy: boolean;
}

export async function runOpenLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const total = Math.floor(o.rate * o.durationS);
  const latencies = new Float64Array(total);
  let completed = 0;
  let errors = 0;
  let sent = 0;
  const queue: number[] = [];
  const idle: Conn[] = [];
  const conns: Conn[] = [];
  let finished = false;
  let finish: () => void = () => {};
  const done = new Promise<void>((r) => {
    finish = () => {
      finished = true;
      r();
    };
  });
  const replace = (): void => {
    open().then(
      (c) => {
        conns.push(c);
        const next = queue.shift();
        if (next !== undefined) dispatch(c, next);
        else idle.push(c);
      },
      () => {
        if (!finished) setTimeout(replace, 100);
      },
    );
  };
  const checkDone = () => {
    if (sent === total && completed + errors >= total) finish();
  };
  const dispatch = (c: Conn, due: number) => {
    c.busy = true;
    c.due = due;
    c.socket.write(o.request);
  };
  const open = (): Promise<Conn> =>
    new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: o.port, noDelay: true });
      const c: Conn = { socket, buf: Buffer.alloc(0), due: 0, busy: false };
      let connected = false;
      socket.once('connect', () => {
        connected = true;
        resolve(c);
      });
      socket.once('error', reject);
      socket.on('error', () => {});
      socket.on('data', (d: Buffer) => {
        c.buf = c.buf.length === 0 ? d : Buffer.concat([c.buf, d]);
        const end = responseEnd(c.buf, 0);
        if (end === -1) return;
        const latency = performance.now() - c.due;
        if (c.buf.subarray(9, 12).toString() !== '200') errors++;
        else latencies[completed++] = latency;
        c.buf = c.buf.subarray(end);
        c.busy = false;
        const next = queue.shift();
        if (next !== undefined) dispatch(c, next);
        else idle.push(c);
        checkDone();
      });
      socket.on('close', () => {
        if (c.busy) {
          errors++;
          c.busy = false;
          checkDone();
        }
        const i = idle.indexOf(c);
        if (i !== -1) idle.splice(i, 1);
        // A proxy that closes after each response (tinyproxy) gets a fresh connection in its place. Only a
        // connection that was up is replaced: a failed connect is retried by `replace` itself, once.
        if (connected && !finished) replace();
      });
    });
  for (let i = 0; i < o.connections; i++) {
    const c = await open();
    conns.push(c);
    idle.push(c);
  }
  const start = performance.now();
  const interval = 1000 / o.rate;
  const tick = () => {
    const now = performance.now();
    while (sent < total && start + sent * interval <= now) {
      const due = start + sent * interval;
      sent++;
      const c = idle.pop();
      if (c) dispatch(c, due);
      else queue.push(due);
    }
    if (sent < total) setTimeout(tick, 1);
  };
  tick();
  const timeout = setTimeout(finish, (o.durationS + 10) * 1000);
  await done;
  clearTimeout(timeout);
  for (const c of conns) c.socket.destroy();
  const sorted = latencies.subarray(0, completed).sort();
  return {
    rate: o.rate,
    sent,
    completed,
    errors: total - completed,
    p50Ms: quantileSorted(sorted, 0.5),
    p99Ms: quantileSorted(sorted, 0.99),
    maxMs: completed > 0 ? (sorted[completed - 1] as number) : Number.NaN,
  };
}
