/**
 * Reads a tunnel client's first bytes until the head of its first HTTP request is complete (CRLF CRLF), without
 * forwarding any of them. The peek pattern of read-client-hello.ts: bounded, timed, bytes handed back for replay.
 */
import type { Duplex } from 'node:stream';

export interface ReadHttpHeadOptions {
  /** Bytes the HTTP parser already read past the CONNECT head. */
  readonly head: Buffer;
  readonly timeoutMs: number;
  /** Largest request head accepted (`limits.max_header_bytes`). */
  readonly maxBytes: number;
}

const END_OF_HEAD = Buffer.from('\r\n\r\n');

/** The head (latin1 text up to, not including, the blank line) plus every byte read, or why there is none. */
export type HttpHeadRead =
  | { readonly kind: 'head'; readonly head: string; readonly buffered: Buffer }
  | { readonly kind: 'not_http' | 'too_large' | 'timeout' | 'closed'; readonly buffered: Buffer };

/** A request line starts with a token of upper-case letters and a space; anything else is not HTTP/1.x. */
function looksLikeRequestStart(data: Buffer): boolean {
  const n = Math.min(data.length, 16);
  for (let i = 0; i < n; i++) {
    const c = data[i] as number;
    if (c === 0x20) return i > 0;
    if (c < 0x41 || c > 0x5a) return false;
  }
  return data.length < 16;
}

/** Waits for the first request head. Leaves the socket paused with no listener of its own. */
export function readHttpHead(socket: Duplex, options: ReadHttpHeadOptions): Promise<HttpHeadRead> {
  return new Promise((resolve) => {
    let buffered = options.head;
    let settled = false;
    const finish = (outcome: HttpHeadRead): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.pause();
      socket.off('data', onData);
      socket.off('end', onGone);
      socket.off('close', onGone);
      socket.off('error', onGone);
      resolve(outcome);
    };
    const check = (): boolean => {
      if (buffered.length === 0) return false;
      if (!looksLikeRequestStart(buffered)) {
        finish({ kind: 'not_http', buffered });
        return true;
      }
      const end = buffered.indexOf(END_OF_HEAD);
      if (end !== -1 && end + END_OF_HEAD.length <= options.maxBytes) {
        finish({ kind: 'head', head: buffered.toString('latin1', 0, end), buffered });
        return true;
      }
      if (buffered.length >= options.maxBytes) {
        finish({ kind: 'too_large', buffered });
        return true;
      }
      return false;
    };
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      check();
    };
    const onGone = (): void => finish({ kind: 'closed', buffered });
    const timer = setTimeout(() => finish({ kind: 'timeout', buffered }), options.timeoutMs);
    if (check()) return;
    if (socket.destroyed) return finish({ kind: 'closed', buffered });
    socket.on('data', onData);
    socket.on('end', onGone);
    socket.on('close', onGone);
    socket.on('error', onGone);
    socket.resume();
  });
}
