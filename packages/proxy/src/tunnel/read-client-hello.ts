/**
 * Reads a tunnel client's first bytes until its TLS ClientHello is complete, without forwarding any of them. The
 * bytes are held (bounded) and handed back so the relay can send them upstream once the SNI check has passed.
 */
import type { Duplex } from 'node:stream';
import { type ClientHelloResult, parseClientHello } from './client-hello.js';

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

/**
 * Waits for enough client bytes to decide on the ClientHello. Leaves the socket paused with no listener of its
 * own, so the caller can start relaying from a clean state.
 */
export function readClientHello(socket: Duplex, options: ReadClientHelloOptions): Promise<ClientHelloRead> {
  const maxBytes = options.maxBytes ?? CLIENT_HELLO_MAX_BYTES;
  return new Promise((resolve) => {
    let buffered = options.head;
    let settled = false;
    const finish = (outcome: ClientHelloRead): void => {
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
      const result = parseClientHello(buffered);
      if (result.kind !== 'need_more') {
        finish({ kind: 'result', result, buffered });
        return true;
      }
      if (buffered.length >= maxBytes) {
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
