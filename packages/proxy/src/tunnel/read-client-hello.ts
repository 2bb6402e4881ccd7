/**
 * Reads a tunnel client's first bytes until its TLS ClientHello is complete, without forwarding any of them. The
 * bytes are held (bounded) and handed back so the relay can send them upstream once the SNI check has passed.
 */
import type { Duplex } from 'node:stream';
import { type ClientHelloResult, parseClientHello } from './client-hello.js';
import { peekFirstBytes } from './peek-first-bytes.js';

/** Bytes held while waiting for a ClientHello. Real ones are under 2 KiB, post-quantum key shares included. */
export const CLIENT_HELLO_MAX_BYTES = 16_384;

export interface ReadClientHelloOptions {
  /** Bytes the HTTP parser already read past the CONNECT head. */
  readonly head: Buffer;
  readonly timeoutMs: number;
  readonly maxBytes?: number;
}

/** The outcome plus every byte read (to replay upstream when the check passes). */
export type ClientHelloRead =
  | { readonly kind: 'result'; readonly result: ClientHelloResult; readonly buffered: Buffer }
  | { readonly kind: 'too_large' | 'timeout' | 'closed'; readonly buffered: Buffer };

/** Waits for enough client bytes to decide on the ClientHello, then calls `done` (see peekFirstBytes). */
export function readClientHello(
  socket: Duplex,
  options: ReadClientHelloOptions,
  done: (read: ClientHelloRead) => void,
): void {
  const maxBytes = options.maxBytes ?? CLIENT_HELLO_MAX_BYTES;
  peekFirstBytes<ClientHelloRead>(
    socket,
    options.head,
    options.timeoutMs,
    (buffered) => {
      const result = parseClientHello(buffered);
      if (result.kind !== 'need_more') return { kind: 'result', result, buffered };
      if (buffered.length >= maxBytes) return { kind: 'too_large', buffered };
      return null;
    },
    done,
  );
}
