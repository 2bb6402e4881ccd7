/**
 * The byte relay of an established tunnel: client <-> upstream with backpressure both ways, half-close passed on,
 * an idle timeout over both directions, byte counts and one close reason. Error and close wiring is explicit
 * (no `pipe`): a socket error on either side destroys both, and `onDone` runs once when both sockets are closed.
 *
 *   client --data--> write(upstream) ==false? pause(client) until upstream 'drain'   (and the same downwards)
 *   client 'end' --> upstream.end()  (half-close); both ends seen -> sockets close -> onDone
 */
import type { OnReadOpts, Socket } from 'node:net';
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

/**
 * Read buffer of a tunnel's upstream socket while it is idle or interactive: a TLS record's worth. A read that
 * fills it switches to READ_BIG; a run of reads shorter than it switches back, so a tunnel that turns interactive
 * after a download does not keep 256 KiB.
 */
const READ_SMALL = 16 * 1024;
/**
 * Read buffer of a tunnel during a bulk transfer. Measured on 2026-12-01 (bench/README.md, "CONNECT: 2026-12-01"),
 * bare relay on Node 24, raw bulk: 256 KiB reads 0.47-0.68 ms CPU per MiB, 64 KiB 0.74-0.82.
 */
const READ_BIG = 256 * 1024;
/** Consecutive short reads after which a tunnel counts as interactive again and reads into READ_SMALL. */
const SHORT_READS_TO_SHRINK = 8;
/**
 * Read buffer of a tunnel until a read fills it: the largest size `Buffer.allocUnsafe` slices from Node's shared
 * pool (below `Buffer.poolSize / 2`), so a short tunnel (a PING/PONG, a TLS server's first flight) allocates no
 * memory of its own. A 16 KiB buffer per tunnel was external memory that made V8 run a full GC every 2-3
 * scavenges under set-up load: measured 2026-12-02 (bench/README.md, "CONNECT set-up rate: 2026-12-02 06:00"),
 * raw set-ups, pinned, same run: mark-compacts 25 -> 5 on Node 24 and 16 -> 6 on Node 20, CPU per set-up
 * 249 -> 205 and 229 -> 212 µs.
 */
const READ_FIRST = 4 * 1024 - 1;

/**
 * The upstream side of a tunnel read through net's `onread` into a buffer reused from read to read, instead of a
 * new Buffer per read pushed through a Readable: the relay writes each read straight to the client. A buffer whose
 * write did not complete at once (the client socket still holds it) is never read into again: the next read gets a
 * fresh one. Measured (bench/README.md, "CONNECT: 2026-12-01"), Node 24, same run: 1.72-1.97 ms of CPU per MiB
 * before, 0.62-0.84 after, Squid 0.68-0.76; most of the difference was the GC freeing a 64 KiB Buffer per read.
 *
 * Bytes that arrive before the relay starts (a server that speaks first, during the SNI check) are copied aside
 * and reading stops until `attach`, as a paused socket would hold them.
 */
export class UpstreamReads {
  #buffer: Buffer | null = null;
  #size = READ_FIRST;
  /** Consecutive reads shorter than READ_SMALL. */
  #shortReads = 0;
  /** The current buffer is referenced by a write still in progress. */
  #lent = false;
  #early: Buffer[] = [];
  #sink: ((chunk: Buffer) => void) | null = null;

  /** For `net.connect({ onread })`. */
  readonly onread: OnReadOpts = {
    buffer: () => this.#next(),
    callback: (n, buf) => this.#onRead(n, buf as Buffer),
  };

  #next(): Buffer {
    if (this.#buffer === null || this.#lent || this.#buffer.length !== this.#size) {
      this.#buffer = Buffer.allocUnsafe(this.#size);
      this.#lent = false;
    }
    return this.#buffer;
  }

  #onRead(n: number, buf: Buffer): boolean {
    // A read that filled the buffer says more is coming: read bigger from the next read on (the first buffer
    // grows to READ_SMALL, READ_SMALL to READ_BIG). Only a run of short reads goes back to small: a bulk transfer
    // has single short reads (a TLS record split across segments), and going small on each would allocate a big
    // buffer again on the next full read.
    if (n === buf.length) {
      this.#size = buf.length < READ_SMALL ? READ_SMALL : READ_BIG;
      this.#shortReads = 0;
    } else if (n < READ_SMALL && ++this.#shortReads >= SHORT_READS_TO_SHRINK) {
      this.#size = READ_SMALL;
    } else if (n >= READ_SMALL) {
      this.#shortReads = 0;
    }
    const sink = this.#sink;
    if (sink === null) {
      this.#early.push(Buffer.from(buf.subarray(0, n)));
      return false;
    }
    sink(buf.subarray(0, n));
    return true;
  }

  /** Marks the current buffer as held by a pending write: the next read goes into a fresh one. */
  lend(): void {
    this.#lent = true;
  }

  /** From now on reads go to `sink`; returns what was read before (already copied). */
  attach(sink: (chunk: Buffer) => void): Buffer[] {
    this.#sink = sink;
    const early = this.#early;
    this.#early = [];
    return early;
  }
}

export interface RelayOptions {
  readonly idleMs: number;
  /** The upstream socket was connected with `reads.onread`: its bytes come from there, not from 'data'. */
  readonly reads?: UpstreamReads | undefined;
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
  const down = (chunk: Buffer): void => {
    stats.bytesDown += chunk.length;
    lastActivity = Date.now();
    const flowing = client.write(chunk);
    if (!flowing) {
      // Reading stops until the client's 'drain', when every queued chunk is written: the next read can go into
      // the same buffer (a fresh 256 KiB one here was most of the relay's allocations in a bulk transfer).
      upstream.pause();
    } else if (reads !== undefined && client.writableLength > 0) {
      // The chunk is in the client socket's queue, not yet in the kernel, and reading goes on: its buffer must not
      // be read into again.
      reads.lend();
    }
  };
  const reads = options.reads;
  const early = reads === undefined ? [] : reads.attach(down);
  if (reads === undefined) upstream.on('data', down);
  upstream.on('drain', () => client.resume());
  client.on('drain', () => upstream.resume());

  // Half-close: a FIN from one side becomes a FIN to the other; the other direction keeps flowing.
  client.on('end', () => {
    setReason('client_end');
    upstream.end();
  });
  const onUpstreamEnd = (): void => {
    setReason('upstream_end');
    client.end();
  };
  upstream.on('end', onUpstreamEnd);

  client.on('error', () => destroyBoth('error'));
  upstream.on('error', () => destroyBoth('error'));
  // Once one socket is closed nothing more can reach it: the other one gets our pending bytes, a FIN, and is
  // destroyed after the flush (a socket that already sent its FIN and flushed just closes).
  const endThenDestroy = (socket: Duplex): void => {
    // Already flushed (our FIN went out on its 'end'): end() would only build an ERR_STREAM_ALREADY_FINISHED for
    // its callback, a captured stack per tunnel (2.4% of the proxy's busy time in the TLS set-up profile).
    if (socket.writableFinished) process.nextTick(() => socket.destroy());
    else socket.end(() => socket.destroy());
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
  // Bytes the upstream sent before the relay started (read through `reads`, so no longer in the socket).
  for (const chunk of early) down(chunk);
  // Read through `reads`, an upstream FIN is not held back behind unread data: it may have been seen already.
  if (reads !== undefined && upstream.readableEnded) onUpstreamEnd();
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
