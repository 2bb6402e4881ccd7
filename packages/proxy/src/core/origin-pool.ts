/**
 * What the forward path asks of the origin side (forward/origin-client.ts implements it): send one request to one
 * of a list of checked addresses over a pooled connection, and hear back the head, the body and the end. Types
 * only, so the running instance (core/context.ts) can own a pool without core depending on forward.
 */
import type { Readable } from 'node:stream';

/** TLS to the origin: the name to verify (and send as SNI unless it is an IP literal), and the CAs to trust. */
export interface OriginTls {
  /** Host the certificate must name (a DNS name or an IP literal). */
  readonly host: string;
  /** SNI: the DNS name, or null for an IP literal (SNI carries names only). */
  readonly servername: string | null;
  /** CA certificates (PEM), or undefined for Node's bundled roots. */
  readonly ca: readonly string[] | undefined;
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

/** The pool of origin connections of a running instance. */
export interface OriginPool {
  /** Never throws: every failure reaches `handler.onError`. */
  request(target: OriginTarget, req: OriginRequest, handler: OriginHandler): OriginCall;
  /** Retries so far (a reused connection failed before any response byte and the request went out again). */
  readonly retries: number;
  /** Destroys every connection, idle and busy. */
  close(): void;
}
