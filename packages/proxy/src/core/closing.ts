/**
 * Marks a client connection that must not serve another request: after a framing rejection the bytes that follow
 * cannot be trusted (they may be a smuggled request that llhttp already parsed in the same read).
 */
import type { Socket } from 'node:net';

const CLOSING = Symbol('cuttle.closing');
type Marked = Socket & { [CLOSING]?: true };

/** Flags the socket; the server drops every further request on it. */
export function markClosing(socket: Socket): void {
  (socket as Marked)[CLOSING] = true;
}

/** True once `markClosing` was called for the socket. */
export function isClosing(socket: Socket): boolean {
  return (socket as Marked)[CLOSING] === true;
}
