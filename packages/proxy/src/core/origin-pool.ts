/**
 * What the forward path asks of the origin side (forward/origin-client.ts implements it): send one request to one
 * of a list of checked addresses over a pooled connection, and hear back the head, the body and the end. Types
 * only (and the instance's small set of pools, OriginPools), so core never depends on forward.
 *
 * One pool per prepared config (its CA bundle fixed): a reload's new context opens a new pool and the old one is
 * retired, closing its idle connections at once and each busy one when its request ends.
 */
import type { Readable } from 'node:stream';

/** TLS to the origin: the name to verify (and send as SNI unless it is an IP literal), and the CAs to trust. */
export interface OriginTls {
  /** Host the certificate must name (a DNS name or an IP literal). */
  readonly host: string;
  /** SNI: the DNS name, or null for an IP literal (SNI carries names only). */
  readonly servername: string | null;
}

/** Where one request may go: the guard's checked addresses (in its order) and the port. */
export interface OriginTarget {
  readonly addresses: readonly string[];
  readonly port: number;
  readonly tls: OriginTls | null;
}

/** The request as sent upstream (headers already cleaned, Host included). */
export interface OriginRequest {
  readonly method: string;
  /** Origin-form path, or the absolute-form URL for a parent proxy. */
  readonly path: string;
  /** Flat `[name, value, ...]`. */
  readonly headers: string[];
  readonly body: Readable | null;
  /** May be sent again after a reused connection failed before any response byte (idempotent, no body). */
  readonly retryable: boolean;
  readonly connectTimeoutMs: number;
  /** No response head, or no body bytes, for this long: 504 `upstream_timeout`. */
  readonly responseTimeoutMs: number;
  readonly maxHeaderBytes: number;
}

/** What the caller hears of one request. Exactly one of onComplete / onError ends it, unless it was aborted. */
export interface OriginHandler {
  /** The address in use (`addr:port`), once a connection is picked or opened. */
  onUpstream(where: string): void;
  /** The final (>= 200) response head; return false to pause until `resume` is called. */
  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void): boolean;
  /** A body chunk; return false to pause until `resume` (from onHeaders) is called. */
  onData(chunk: Buffer): boolean;
  onComplete(): void;
  /** Nothing (more) will come; `err` is a ProxyError, an undici error or an errno error (classify it). */
  onError(err: Error): void;
  /** The request is being sent once more on a fresh connection (a reused one failed before any response byte). */
  onRetry(): void;
}

/** One request on its way. */
export interface OriginCall {
  /** The client went away: tear the request down (its connection is not reused). Nothing more is reported. */
  abort(): void;
}

/** The pool of origin connections of one prepared config. */
export interface OriginPool {
  /** Never throws: every failure reaches `handler.onError`. */
  request(target: OriginTarget, req: OriginRequest, handler: OriginHandler): OriginCall;
  /** Connections open right now, idle and busy. */
  readonly connections: number;
  /**
   * Its config was replaced: idle connections close now, busy ones when their request ends (none is handed out
   * again); `onEmpty` runs once no connection is left (at once when there is none).
   */
  retire(onEmpty: () => void): void;
  /** Destroys every connection, idle and busy. */
  close(): void;
}

/** What every pool of an instance counts into (the metrics read it). */
export interface OriginStats {
  /** Retries so far (a reused connection failed before any response byte and the request went out again). */
  retries: number;
}

/** Opens one pool for a prepared config (lifecycle/prepare.ts builds it with the config's TLS settings). */
export type OriginPoolFactory = (stats: OriginStats) => OriginPool;

/**
 * The running instance's origin pools: the current config's, and retired ones until their last connection
 * closes. `close` (when the instance stops) destroys them all.
 */
export class OriginPools {
  readonly stats: OriginStats = { retries: 0 };
  readonly #open = new Set<OriginPool>();

  /** A new pool from `factory`, owned by this instance. */
  open(factory: OriginPoolFactory): OriginPool {
    const pool = factory(this.stats);
    this.#open.add(pool);
    return pool;
  }

  /** `pool`'s config was replaced: see OriginPool.retire. */
  retire(pool: OriginPool): void {
    pool.retire(() => this.#open.delete(pool));
  }

  /** Pools still holding connections or serving a config (for tests). */
  get size(): number {
    return this.#open.size;
  }

  /** Retries over every pool of this instance. */
  get retries(): number {
    return this.stats.retries;
  }

  close(): void {
    for (const pool of this.#open) pool.close();
    this.#open.clear();
  }
}
