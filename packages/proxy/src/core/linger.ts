/**
 * A lingering close: send the last bytes, half-close, and keep reading (and discarding) what the client still
 * sends until it closes or a short grace runs out. Closing a socket with unread data makes the kernel answer with a
 * reset, which can destroy the answer before the client has read it (RFC 9112 section 9.6).
 */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** How long a refused client gets to read the answer and close before the connection is dropped. */
export const LINGER_MS = 2_000;

function noop(): void {}

/** Ends `socket` after writing `last` (nothing when omitted), discarding every byte that still arrives. */
export function endLingering(socket: Duplex, last?: string): void {
  if (socket.destroyed) return;
  socket.on('error', noop);
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  // The client closed its side too: nothing more to wait for.
  socket.once('end', () => socket.destroy());
  if (last === undefined) socket.end();
  else socket.end(last);
  socket.resume();
}

/**
 * Lingers after an answer that ends the connection while the request body is unread (a deny: the body is never
 * read on purpose). node ends the socket once the answer is written and destroys it when the FIN is out
 * (`destroySoon`), which resets the connection if the client is still sending, and the client never reads the
 * answer (seen: an 8 MB upload to a denied name got EPIPE, no 403). Instead the socket stays open for reading,
 * node's parser discarding the body, until the client closes or `LINGER_MS` runs out.
 */
export function lingerAfter(res: ServerResponse): void {
  const socket = res.socket;
  if (socket === null) return;
  // After node's own 'finish' listener (registered when the response was created), which called destroySoon.
  res.once('finish', () => {
    if (socket.destroyed) return;
    // node's destroySoon (Node 20, 24) waits for 'finish' with `once('finish', destroy)`. A node that closes
    // another way is not lingered for: the socket closes as it would without this (no throw, no leak).
    if (!socket.listeners('finish').includes(socket.destroy)) return;
    socket.removeListener('finish', socket.destroy);
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.once('end', () => socket.destroy());
  });
}
