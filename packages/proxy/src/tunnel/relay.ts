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
  #sink: ReadSink | null = null;

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
    sink.down(buf.subarray(0, n));
    return true;
  }

  /** Marks the current buffer as held by a pending write: the next read goes into a fresh one. */
  lend(): void {
    this.#lent = true;
  }

  /** From now on reads go to `sink.down`; returns what was read before (already copied). */
  attach(sink: ReadSink): Buffer[] {
    this.#sink = sink;
    const early = this.#early;
    this.#early = [];
    return early;
  }

  /** The tunnel is over: drops the buffer and the sink (the socket keeps this object until a full GC). */
  release(): void {
    this.#sink = null;
    this.#buffer = null;
  }
}

/** Where `UpstreamReads` hands each read once the relay runs. */
export interface ReadSink {
  down(chunk: Buffer): void;
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
  return new TunnelRelay(client, upstream, options, onDone);
}

/** The relay of a socket, for the shared listeners below; cleared when the relay is done. */
const RELAY = Symbol('cuttle.relay');
type Relayed = Duplex & { [RELAY]?: TunnelRelay | undefined };

/**
 * The relay's state and steps. Its socket listeners are module functions shared by every tunnel (`this` is the
 * socket, which points at its relay through RELAY), not closures per tunnel, and the relay clears both pointers
 * when it is done: node keeps a closed socket until the next full GC (every socket of a set-up loop is promoted,
 * as in a bare node relay), and the listeners' closures kept the whole tunnel with it (the relay, the Tunnel,
 * its record and read buffer). Measured 2026-12-02 14:48 (raw set-ups, 16 loops, proxy pinned to CPU 0, 5
 * alternating rounds of 3 s against the build before, with the shutdown saved in `finishWriting`): CPU per set-up
 * Node 20 165 -> 139 µs, Node 24 109 -> 103 (15:21, both with the launch's PROXY_NODE_FLAGS, 4 rounds: 158 -> 142,
 * 113 -> 109); promoted bytes per set-up (sampling heap profile, Node 20) 6.7 -> 6.1 KB, the bare node relay's 3.5 KB.
 */
class TunnelRelay implements Relay, ReadSink {
  readonly #client: Relayed;
  readonly #upstream: Socket & Relayed;
  readonly #idleMs: number;
  readonly #reads: UpstreamReads | undefined;
  #onDone: ((stats: RelayStats) => void) | null;
  readonly #stats: RelayStats = { bytesUp: 0, bytesDown: 0, closeReason: 'error' };
  #reason: TunnelCloseReason | null = null;
  #lastActivity = Date.now();
  #clientClosed = false;
  #upstreamClosed = false;
  #done = false;
  #idleTimer: NodeJS.Timeout;

  constructor(client: Duplex, upstream: Socket, options: RelayOptions, onDone: (stats: RelayStats) => void) {
    const c = client as Relayed;
    const u = upstream as Socket & Relayed;
    this.#client = c;
    this.#upstream = u;
    this.#idleMs = options.idleMs;
    this.#onDone = onDone;
    const reads = options.reads;
    this.#reads = reads;
    // One timer for both directions: re-armed for the time left rather than reset on every chunk.
    this.#idleTimer = setTimeout(onIdle, options.idleMs, this);
    c[RELAY] = this;
    u[RELAY] = this;

    c.on('data', onClientData);
    const early = reads === undefined ? [] : reads.attach(this);
    if (reads === undefined) u.on('data', onUpstreamData);
    u.on('drain', onUpstreamDrain);
    c.on('drain', onClientDrain);
    // Half-close: a FIN from one side becomes a FIN to the other; the other direction keeps flowing.
    c.on('end', onClientEnd);
    u.on('end', onUpstreamEnd);
    c.on('error', onError);
    u.on('error', onError);
    c.on('close', onClientClose);
    u.on('close', onUpstreamClose);

    // A socket that closed before the relay started (its 'close' already fired) is handled as if it closed now.
    if (c.closed || u.closed) {
      queueMicrotask(() => {
        if (c.closed) this.clientClosed();
        if (u.closed) this.upstreamClosed();
      });
    }

    const stats = this.#stats;
    if (options.firstDown !== undefined && options.firstDown.length > 0) {
      stats.bytesDown += options.firstDown.length;
      if (!c.write(options.firstDown)) u.pause();
    }
    // Bytes the upstream sent before the relay started (read through `reads`, so no longer in the socket).
    for (const chunk of early) this.down(chunk);
    // Read through `reads`, an upstream FIN is not held back behind unread data: it may have been seen already.
    if (reads !== undefined && u.readableEnded) this.upstreamEnded();
    if (options.firstUp !== undefined && options.firstUp.length > 0) {
      stats.bytesUp += options.firstUp.length;
      if (!u.write(options.firstUp)) {
        c.pause();
      } else {
        c.resume();
      }
    } else {
      c.resume();
    }
    u.resume();
  }

  close(reason: TunnelCloseReason): void {
    this.destroyBoth(reason);
  }

  buffered(): number {
    return this.#client.writableLength + this.#upstream.writableLength;
  }

  up(chunk: Buffer): void {
    this.#stats.bytesUp += chunk.length;
    this.#lastActivity = Date.now();
    if (!this.#upstream.write(chunk)) this.#client.pause();
  }

  down(chunk: Buffer): void {
    this.#stats.bytesDown += chunk.length;
    this.#lastActivity = Date.now();
    const client = this.#client;
    const flowing = client.write(chunk);
    if (!flowing) {
      // Reading stops until the client's 'drain', when every queued chunk is written: the next read can go into
      // the same buffer (a fresh 256 KiB one here was most of the relay's allocations in a bulk transfer).
      this.#upstream.pause();
    } else if (this.#reads !== undefined && client.writableLength > 0) {
      // The chunk is in the client socket's queue, not yet in the kernel, and reading goes on: its buffer must not
      // be read into again.
      this.#reads.lend();
    }
  }

  idle(): void {
    const left = this.#idleMs - (Date.now() - this.#lastActivity);
    if (left > 0) {
      this.#idleTimer = setTimeout(onIdle, left, this);
      return;
    }
    this.destroyBoth('idle_timeout');
  }

  resumeClient(): void {
    this.#client.resume();
  }

  resumeUpstream(): void {
    this.#upstream.resume();
  }

  clientEnded(): void {
    this.#setReason('client_end');
    finishWriting(this.#upstream);
  }

  upstreamEnded(): void {
    this.#setReason('upstream_end');
    finishWriting(this.#client);
  }

  destroyBoth(reason: TunnelCloseReason): void {
    this.#setReason(reason);
    clearTimeout(this.#idleTimer);
    this.#client.destroy();
    this.#upstream.destroy();
  }

  // Once one socket is closed nothing more can reach it: the other one gets our pending bytes, a FIN, and is
  // destroyed after the flush (a socket that already sent its FIN and flushed just closes).
  clientClosed(): void {
    if (this.#clientClosed) return;
    this.#clientClosed = true;
    this.#setReason('client_end');
    if (!this.#upstreamClosed) endThenDestroy(this.#upstream);
    this.#maybeDone();
  }

  upstreamClosed(): void {
    if (this.#upstreamClosed) return;
    this.#upstreamClosed = true;
    this.#setReason('upstream_end');
    if (!this.#clientClosed) endThenDestroy(this.#client);
    this.#maybeDone();
  }

  #setReason(r: TunnelCloseReason): void {
    if (this.#reason === null) this.#reason = r;
  }

  #maybeDone(): void {
    if (this.#done || !this.#clientClosed || !this.#upstreamClosed) return;
    this.#done = true;
    clearTimeout(this.#idleTimer);
    this.#stats.closeReason = this.#reason ?? 'error';
    // Both sockets are closed: nothing of this tunnel needs to stay reachable from them.
    this.#client[RELAY] = undefined;
    this.#upstream[RELAY] = undefined;
    this.#reads?.release();
    const onDone = this.#onDone;
    this.#onDone = null;
    onDone?.(this.#stats);
  }
}

function onClientData(this: Relayed, chunk: Buffer): void {
  this[RELAY]?.up(chunk);
}
function onUpstreamData(this: Relayed, chunk: Buffer): void {
  this[RELAY]?.down(chunk);
}
function onUpstreamDrain(this: Relayed): void {
  this[RELAY]?.resumeClient();
}
function onClientDrain(this: Relayed): void {
  this[RELAY]?.resumeUpstream();
}
function onClientEnd(this: Relayed): void {
  this[RELAY]?.clientEnded();
}
function onUpstreamEnd(this: Relayed): void {
  this[RELAY]?.upstreamEnded();
}
function onError(this: Relayed): void {
  this[RELAY]?.destroyBoth('error');
}
function onClientClose(this: Relayed): void {
  this[RELAY]?.clientClosed();
}
function onUpstreamClose(this: Relayed): void {
  this[RELAY]?.upstreamClosed();
}
function onIdle(relay: TunnelRelay): void {
  relay.idle();
}

/**
 * Passes a FIN on to `socket`. When its own FIN already came and everything written is in the kernel, a close
 * sends the same FIN (after the unsent bytes, and no reset: nothing is left unread) without the shutdown before it:
 * a syscall and node's end/final/shutdown steps per tunnel (shutdowns per raw set-up 2 -> 1; CPU per set-up, same
 * build with and without it, 6 alternating rounds, 2026-12-02 14:45: Node 20 151 -> 148 µs, Node 24 113 -> 108).
 */
function finishWriting(socket: Duplex): void {
  if (socket.readableEnded && socket.writableLength === 0) socket.destroy();
  else socket.end();
}

function endThenDestroy(socket: Duplex): void {
  // Already flushed (our FIN went out on its 'end'): end() would only build an ERR_STREAM_ALREADY_FINISHED for
  // its callback, a captured stack per tunnel (2.4% of the proxy's busy time in the TLS set-up profile).
  if (socket.writableFinished) process.nextTick(destroySocket, socket);
  else socket.end(() => socket.destroy());
}
function destroySocket(socket: Duplex): void {
  socket.destroy();
}
