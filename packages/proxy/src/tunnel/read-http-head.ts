/**
 * Reads a tunnel client's first bytes until the head of its first HTTP request is complete (CRLF CRLF), without
 * forwarding any of them: bounded, timed, bytes handed back for replay (peek-first-bytes.ts).
 */
import type { Duplex } from 'node:stream';
import { peekFirstBytes } from './peek-first-bytes.js';

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

/** Waits for the first request head, then calls `done` (see peekFirstBytes). */
export function readHttpHead(
  socket: Duplex,
  options: ReadHttpHeadOptions,
  done: (read: HttpHeadRead) => void,
): void {
  peekFirstBytes<HttpHeadRead>(
    socket,
    options.head,
    options.timeoutMs,
    (buffered) => {
      if (!looksLikeRequestStart(buffered)) return { kind: 'not_http', buffered };
      const end = buffered.indexOf(END_OF_HEAD);
      if (end !== -1 && end + END_OF_HEAD.length <= options.maxBytes) {
        return { kind: 'head', head: buffered.toString('latin1', 0, end), buffered };
      }
      if (buffered.length >= options.maxBytes) return { kind: 'too_large', buffered };
      return null;
    },
    done,
  );
}
