/**
 * Holds a tunnel client's first bytes, forwarding none of them, until `decide` can say what they are (a TLS
 * ClientHello, an HTTP request head). Bounded by the caller's `decide` and by a timeout; every byte read is handed
 * back so the relay can replay it upstream once the check has passed.
 */
import type { Duplex } from 'node:stream';

/** The client went quiet or away before `decide` could decide. */
export interface PeekEnd {
  readonly kind: 'timeout' | 'closed';
  readonly buffered: Buffer;
}

/**
 * Reads until `decide(buffered)` returns an outcome (null: need more bytes), starting from `head` (bytes the HTTP
 * parser already read past the CONNECT head), and calls `done` once with it (at once if `head` decides).
 * Leaves the socket paused with no listener of its own, so the caller can start relaying from a clean state.
 * A callback, not a promise: one tunnel set-up is a chain of these steps (bench/README.md, "CONNECT set-up
 * rate: 2026-12-02").
 */
export function peekFirstBytes<T>(
  socket: Duplex,
  head: Buffer,
  timeoutMs: number,
  decide: (buffered: Buffer) => T | null,
  done: (outcome: T | PeekEnd) => void,
): void {
  let buffered = head;
  let settled = false;
  const finish = (outcome: T | PeekEnd): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.pause();
    socket.off('data', onData);
    socket.off('end', onGone);
    socket.off('close', onGone);
    socket.off('error', onGone);
    done(outcome);
  };
  const check = (): boolean => {
    if (buffered.length === 0) return false;
    const outcome = decide(buffered);
    if (outcome === null) return false;
    finish(outcome);
    return true;
  };
  const onData = (chunk: Buffer): void => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    check();
  };
  const onGone = (): void => finish({ kind: 'closed', buffered });
  const timer = setTimeout(() => finish({ kind: 'timeout', buffered }), timeoutMs);
  if (check()) return;
  if (socket.destroyed) {
    finish({ kind: 'closed', buffered });
    return;
  }
  socket.on('data', onData);
  socket.on('end', onGone);
  socket.on('close', onGone);
  socket.on('error', onGone);
  socket.resume();
}
