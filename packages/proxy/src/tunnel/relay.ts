/**
 * The byte relay of an established tunnel: client <-> upstream with backpressure both ways, half-close passed on,
 * an idle timeout over both directions, byte counts and one close reason. Error and close wiring is explicit
 * (no `pipe`): a socket error on either side destroys both, and `onDone` runs once when both sockets are closed.
 *
 *   client --data--> write(upstream) ==false? pause(client) until upstream 'drain'   (and the same downwards)
 *   client 'end' --> upstream.end()  (half-close); both ends seen -> sockets close -> onDone
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { CloseReason } from '../core/outcomes.js';

/** Why an established tunnel closed, as logged in AccessRecord.closeReason (core/outcomes.ts). */
export type TunnelCloseReason = Extract<
  CloseReason,
  'client_end' | 'upstream_end' | 'idle_timeout' | 'sni_mismatch' | 'error' | 'drain'
>;

export interface RelayStats {
  bytesUp: number;
  bytesDown: number;
  closeReason: TunnelCloseReason;
}

export interface RelayOptions {
  readonly idleMs: number;
  /** Client bytes already read (the checked ClientHello), written upstream first. Counted in bytesUp. */
  readonly firstUp?: Buffer | undefined;
  /** Upstream bytes already read (after a parent's CONNECT answer), written to the client first. */
  readonly firstDown?: Buffer | undefined;
}

/** A running relay; `close` ends it from outside (server drain). */
export interface Relay {
  close(reason: TunnelCloseReason): void;
  /** Bytes written but not yet flushed to either socket: what backpressure keeps small. */
  buffered(): number;
}

/**
 * Relays bytes between an established client socket and an upstream socket until both are closed, then calls
 * `onDone` once with the counts and the first close reason.
 */
export function startRelay(
  client: Duplex,
  upstream: Socket,
  options: RelayOptions,
  onDone: (stats: RelayStats) => void,
): Relay {
  const stats: RelayStats = { bytesUp: 0, bytesDown: 0, closeReason: 'error' };
  let reason: TunnelCloseReason | null = null;
  let lastActivity = Date.now();
  let clientClosed = false;
  let upstreamClosed = false;
  let done = false;

  const setReason = (r: TunnelCloseReason): void => {
    if (reason === null) reason = r;
  };
  const destroyBoth = (r: TunnelCloseReason): void => {
    setReason(r);
    clearTimeout(idleTimer);
    client.destroy();
    upstream.destroy();
  };
  const maybeDone = (): void => {
    if (done || !clientClosed || !upstreamClosed) return;
    done = true;
    clearTimeout(idleTimer);
    stats.closeReason = reason ?? 'error';
    onDone(stats);
  };

  // One timer for both directions: re-armed for the time left rather than reset on every chunk.
  const onIdle = (): void => {
    const left = options.idleMs - (Date.now() - lastActivity);
    if (left > 0) {
      idleTimer = setTimeout(onIdle, left);
      return;
    }
    destroyBoth('idle_timeout');
  };
  let idleTimer = setTimeout(onIdle, options.idleMs);

  client.on('data', (chunk: Buffer) => {
    stats.bytesUp += chunk.length;
    lastActivity = Date.now();
    if (!upstream.write(chunk)) client.pause();
  });
  upstream.on('data', (chunk: Buffer) => {
    stats.bytesDown += chunk.length;
    lastActivity = Date.now();
    if (!client.write(chunk)) upstream.pause();
  });
  upstream.on('drain', () => client.resume());
  client.on('drain', () => upstream.resume());

  // Half-close: a FIN from one side becomes a FIN to the other; the other direction keeps flowing.
  client.on('end', () => {
    setReason('client_end');
    upstream.end();
  });
  upstream.on('end', () => {
    setReason('upstream_end');
    client.end();
  });

  client.on('error', () => destroyBoth('error'));
  upstream.on('error', () => destroyBoth('error'));
  // Once one socket is closed nothing more can reach it: the other one gets our pending bytes, a FIN, and is
  // destroyed after the flush (a socket that already sent its FIN and flushed just closes).
  const endThenDestroy = (socket: Duplex): void => {
    socket.end(() => socket.destroy());
  };
  const onClientClose = (): void => {
    if (clientClosed) return;
    clientClosed = true;
    setReason('client_end');
    if (!upstreamClosed) endThenDestroy(upstream);
    maybeDone();
  };
  const onUpstreamClose = (): void => {
    if (upstreamClosed) return;
    upstreamClosed = true;
    setReason('upstream_end');
    if (!clientClosed) endThenDestroy(client);
    maybeDone();
  };
  client.on('close', onClientClose);
  upstream.on('close', onUpstreamClose);

  // A socket that closed before the relay started (its 'close' already fired) is handled as if it closed now.
  if (client.closed || upstream.closed) {
    queueMicrotask(() => {
      if (client.closed) onClientClose();
      if (upstream.closed) onUpstreamClose();
    });
  }

  if (options.firstDown !== undefined && options.firstDown.length > 0) {
    stats.bytesDown += options.firstDown.length;
    if (!client.write(options.firstDown)) upstream.pause();
  }
  if (options.firstUp !== undefined && options.firstUp.length > 0) {
    stats.bytesUp += options.firstUp.length;
    if (!upstream.write(options.firstUp)) {
      client.pause();
    } else {
      client.resume();
    }
  } else {
    client.resume();
  }
  upstream.resume();

  return {
    close: (r) => destroyBoth(r),
    buffered: () => client.writableLength + upstream.writableLength,
  };
}
