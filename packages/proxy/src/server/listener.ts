/**
 * One `listen` entry kept bound. A fixed address binds once (failure is fatal at start). An interface entry polls
 * every second: missing interface or address is reported once and retried; a changed address or interface index
 * (bridge recreated) closes the old server and binds again on the same port. A unix socket binds once after a
 * stale file is cleared (unix-socket.ts); closing the server removes the file.
 */
import type * as http from 'node:http';
import type { ListenAddress } from '@cuttle/shared';
import type { SelfEndpoints } from '../core/self-endpoints.js';
import { findInterfaceAddress } from './interface-address.js';
import {
  applySocketAccess,
  clearSocketPath,
  DEFAULT_UNIX_SOCKET_ACCESS,
  listenUnix,
  type UnixSocketAccess,
} from './unix-socket.js';

/** `host:port` text with brackets and zone for IPv6. */
export function formatEndpoint(host: string, zone: string | undefined, port: number): string {
  if (host.includes(':')) return `[${host}${zone === undefined ? '' : `%${zone}`}]:${port}`;
  return `${host}:${port}`;
}

/** Interval of the interface poll, ms. */
export const INTERFACE_POLL_MS = 1000;

export interface ListenerOptions {
  readonly spec: ListenAddress;
  /** Makes a fresh http.Server for a bind with the given zone. */
  readonly createServer: (zone: string | undefined) => http.Server;
  /** The proxy's own messages (stderr). */
  readonly say: (line: string) => void;
  /** Mode and owner for a unix socket, read when it is bound (default 0660, the daemon's user and group). */
  readonly unixAccess?: (() => UnixSocketAccess) | undefined;
  /** Where a bound TCP address is registered for the `self_loop` check (proxy and metrics listeners). */
  readonly endpoints?: SelfEndpoints | undefined;
}

function listenOn(
  server: http.Server,
  host: string,
  zone: string | undefined,
  port: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host: zone === undefined ? host : `${host}%${zone}`, port, exclusive: true }, () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

/** A listener that keeps its `listen` entry bound until `close`. */
export class Listener {
  readonly #opts: ListenerOptions;
  #server: http.Server | null = null;
  #boundKey: string | null = null;
  #port: number;
  #timer: NodeJS.Timeout | null = null;
  #lastProblem: string | null = null;
  #closed = false;
  #busy = false;
  #unregister: () => void = () => {};

  constructor(opts: ListenerOptions) {
    this.#opts = opts;
    this.#port = opts.spec.kind === 'unix' ? 0 : opts.spec.port;
  }

  /** The server bound now, if any (for drain). */
  get server(): http.Server | null {
    return this.#server;
  }

  /** Null while bound; else why not (an interface that is missing or has no address yet), for /healthz. */
  get unbound(): string | null {
    if (this.#server !== null) return null;
    return `listen "${this.#opts.spec.text}" is not bound${this.#lastProblem === null ? '' : `: ${this.#lastProblem}`}`;
  }

  /** Binds a fixed address (rejects on failure) or starts the interface poll (never rejects). */
  async start(): Promise<void> {
    const spec = this.#opts.spec;
    if (spec.kind === 'unix') {
      await this.#startUnix(spec.path);
      return;
    }
    if (spec.kind === 'address') {
      const server = this.#opts.createServer(spec.zone);
      this.#port = await listenOn(server, spec.host, spec.zone, spec.port);
      this.#server = server;
      this.#register(spec.host, false);
      this.#opts.say(`listening on ${formatEndpoint(spec.host, spec.zone, this.#port)}`);
      return;
    }
    await this.#poll();
    // Not unref'd: while the interface is missing this timer is what keeps the daemon alive.
    this.#timer = setInterval(() => void this.#poll(), INTERFACE_POLL_MS);
  }

  async #startUnix(path: string): Promise<void> {
    if ((await clearSocketPath(path)) === 'replaced')
      this.#opts.say(`removed the stale socket ${path} (nothing was accepting on it)`);
    const server = this.#opts.createServer(undefined);
    await listenUnix(server, path);
    try {
      await applySocketAccess(path, this.#opts.unixAccess?.() ?? DEFAULT_UNIX_SOCKET_ACCESS);
    } catch (err) {
      await closeServer(server);
      throw err;
    }
    this.#server = server;
    this.#opts.say(`listening on unix:${path}`);
  }

  /** Applies `access` again to a bound unix socket (a reload changed `unix_socket`); no-op for IP listeners. */
  async applyAccess(access: UnixSocketAccess): Promise<void> {
    const spec = this.#opts.spec;
    if (spec.kind !== 'unix' || this.#server === null) return;
    await applySocketAccess(spec.path, access);
  }

  #problem(why: string): void {
    if (this.#lastProblem === why) return;
    this.#lastProblem = why;
    this.#opts.say(`${why}; retrying every second (listen "${this.#opts.spec.text}")`);
  }

  async #poll(): Promise<void> {
    const spec = this.#opts.spec;
    if (spec.kind !== 'interface' || this.#busy || this.#closed) return;
    this.#busy = true;
    try {
      const found = await findInterfaceAddress(spec.iface);
      if (this.#closed) return;
      if (!found.ok) {
        if (this.#server !== null) await this.#drop();
        this.#problem(found.why);
        return;
      }
      if (found.key === this.#boundKey) return;
      if (this.#server !== null) await this.#drop();
      const server = this.#opts.createServer(found.zone);
      try {
        this.#port = await listenOn(server, found.address, found.zone, this.#port);
      } catch (err) {
        // EADDRNOTAVAIL while duplicate address detection runs, for instance.
        this.#problem(
          `cannot bind ${formatEndpoint(found.address, found.zone, this.#port)}: ${(err as Error).message}`,
        );
        return;
      }
      if (this.#closed) {
        await closeServer(server);
        return;
      }
      this.#server = server;
      this.#register(found.address, true);
      this.#boundKey = found.key;
      this.#lastProblem = null;
      this.#opts.say(`listening on ${formatEndpoint(found.address, found.zone, this.#port)}`);
    } finally {
      this.#busy = false;
    }
  }

  /** Registers the bound address for the self-loop check (an interface stands for every local address). */
  #register(address: string, wide: boolean): void {
    this.#unregister();
    this.#unregister = this.#opts.endpoints?.add({ address, port: this.#port, wide }) ?? (() => {});
  }

  async #drop(): Promise<void> {
    this.#unregister();
    const server = this.#server;
    this.#server = null;
    this.#boundKey = null;
    if (server === null) return;
    server.closeAllConnections();
    await closeServer(server);
  }

  /** Stops accepting; resolves when the bound server has closed (in-flight connections end on their own). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#unregister();
    const server = this.#server;
    this.#server = null;
    if (server !== null) await closeServer(server);
  }
}
