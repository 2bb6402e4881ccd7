/**
 * Every client connection accepted by a proxy listener, followed through node's `net.server.socket` diagnostics
 * channel (published for each accepted socket, with `socket.server` set). The active-connections gauge reads the
 * count; a drain waits for the set to empty and destroys what is left when time runs out. Servers that are not
 * proxy listeners (the metrics listener) are excluded by `ignore`.
 */
import * as diagnostics from 'node:diagnostics_channel';
import type * as http from 'node:http';
import type { Server, Socket } from 'node:net';

/** The live client connections of the proxy listeners. */
export class ClientSockets {
  readonly #sockets = new Set<Socket>();
  readonly #servers = new Set<Server>();
  readonly #ignored = new WeakSet<Server>();
  readonly #onSocket = (message: unknown): void => {
    const socket = (message as { socket?: Socket }).socket;
    const server = (socket as (Socket & { server?: Server }) | undefined)?.server;
    if (socket === undefined || (server !== undefined && this.#ignored.has(server))) return;
    if (server !== undefined) this.#servers.add(server);
    this.#sockets.add(socket);
    // One handler shared by every socket (`this` is the socket), not a closure and a `once` wrapper per connection.
    socket.on('close', this.#onClose);
  };
  readonly #waiters: (() => void)[] = [];
  readonly #onClose: (this: Socket) => void;

  constructor() {
    const sockets = this.#sockets;
    const waiters = this.#waiters;
    this.#onClose = function (this: Socket): void {
      sockets.delete(this);
      if (sockets.size === 0) for (const w of waiters.splice(0)) w();
    };
    diagnostics.subscribe('net.server.socket', this.#onSocket);
  }

  /** Leaves the connections of `server` uncounted (the metrics listener). */
  ignore(server: Server): void {
    this.#ignored.add(server);
  }

  /** Open proxy client connections. */
  get size(): number {
    return this.#sockets.size;
  }

  /**
   * Asks every HTTP server seen to close its idle keep-alive connections, and closes the connections that have not
   * sent a byte yet (during a drain). node's closeIdleConnections leaves those open: a client that connected and
   * sent nothing held the drain until `timeouts.header_ms` or `drain_ms` (measured: 8 s of an 8 s drain_ms).
   */
  closeIdle(): void {
    for (const s of this.#servers) (s as http.Server).closeIdleConnections?.();
    for (const s of this.#sockets) if (s.bytesRead === 0) s.destroy();
  }

  /** Resolves when no client connection is open (at once if none is). */
  whenEmpty(): Promise<void> {
    if (this.#sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Destroys every open client connection; returns how many there were. */
  destroyAll(): number {
    const n = this.#sockets.size;
    for (const s of [...this.#sockets]) s.destroy();
    return n;
  }

  /** Stops following new connections. */
  stop(): void {
    diagnostics.unsubscribe('net.server.socket', this.#onSocket);
  }
}
