/**
 * Sends an allowed, checked request to the origin (or the parent of `upstream`) and streams the answer back.
 *
 *   headers: end-to-end only (Upgrade and Expect never go upstream), Host from the target, Via/X-Forwarded-For
 *            only if configured, Proxy-Authorization of the parent
 *   ctx.origins.request(checked addresses only, pooled; forward/origin-client.ts)
 *     --connect deadline--> 504 | --refused on every address--> 502 | --TLS not verified--> 502 upstream_tls
 *   request body --streamed with backpressure (idle timer: 408 + close)--> upstream
 *   response --framing check--> 502 (connection discarded) | writeHead(end-to-end headers) --write/drain--> client
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline, Transform } from 'node:stream';
import { clientOf } from '../core/client.js';
import { markClosing } from '../core/closing.js';
import type { ProxyContext } from '../core/context.js';
import { classifyUpstreamError, type ErrorCode, ProxyError } from '../core/errors.js';
import type { OriginHandler, OriginTls } from '../core/origin-pool.js';
import { end, hold } from '../core/turn-writes.js';
import { absoluteTarget, type ParentProxy } from '../upstream/index.js';
import { type Exchange, fail } from './exchange.js';
import {
  checkResponseHead,
  decrementMaxForwards,
  endToEndHeaders,
  hasRequestBody,
  hostHeader,
} from './hygiene.js';

/** Where an allowed request goes: the normalised target. */
export interface Destination {
  readonly host: string;
  readonly hostKind: string;
  readonly port: number;
  readonly path: string;
  /** `https`: cuttle originates TLS to the origin (absolute-form `https://`, `forward.https_absolute_form`). */
  readonly scheme?: 'https' | undefined;
}

/** Node and OpenSSL error codes of a failed certificate verification or TLS handshake (EPROTO: not TLS at all). */
const TLS_ERROR = /^EPROTO$|CERT|SSL|TLS|UNABLE_TO_|SELF_SIGNED|HOSTNAME|ALTNAME/;

/** Methods RFC 9110 9.2.2 calls idempotent: sent again once when a reused connection failed before any byte. */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/**
 * Request headers that never go upstream beyond the hop-by-hop set: `Expect` (cuttle answered any
 * `100-continue` itself, and the origin client does not take it) and `Upgrade` (already hop-by-hop; no protocol
 * switch is relayed, as in Squid 5.7's default).
 */
const REQUEST_ONLY_DROPPED: ReadonlySet<string> = new Set(['expect', 'upgrade']);

/** `upstream_tls` for a TLS failure on an https origin, else the usual errno table. */
function classify(err: unknown, tls: boolean): ErrorCode {
  if (tls && !(err instanceof ProxyError)) {
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && TLS_ERROR.test(code)) return 'upstream_tls';
  }
  return classifyUpstreamError(err);
}

/**
 * The request body on its way upstream, counted (no 'data' listener on the request itself: that would start it
 * flowing before the origin client reads it). A client that fails mid-body marks the relay, so the answer is
 * `bad_request` rather than an upstream error.
 */
function countingBody(req: IncomingMessage, x: Exchange, relay: Relay): Transform {
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      x.rec.bytesUp += chunk.length;
      callback(null, chunk);
    },
  });
  pipeline(req, counter, (err) => {
    if (err) relay.bodyFailed = err;
  });
  return counter;
}

/** Relays one origin response to the client: the handler the origin client calls. One object per request. */
class Relay implements OriginHandler {
  readonly #ctx: ProxyContext;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #x: Exchange;
  readonly #tls: boolean;
  #resume: (() => void) | null = null;
  settled = false;
  /** The client's request body failed (aborted, malformed chunking): what went wrong is the client's. */
  bodyFailed: Error | null = null;

  constructor(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, x: Exchange, tls: boolean) {
    this.#ctx = ctx;
    this.#req = req;
    this.#res = res;
    this.#x = x;
    this.#tls = tls;
  }

  onUpstream(where: string): void {
    this.#x.rec.upstream = where;
  }

  onRetry(): void {
    this.#x.rec.retried = true;
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void): boolean {
    const x = this.#x;
    const res = this.#res;
    // Past the count limit nothing else is looked at (Node 20 hides what lies beyond it).
    const head = checkResponseHead(rawHeaders, this.#ctx.config.limits.max_header_count);
    if (!head.ok) {
      // Never pass on or pool a connection whose framing is in doubt.
      x.call?.abort();
      this.onError(new ProxyError('bad_response', head.problem.detail));
      return false;
    }
    this.settled = true;
    if (res.destroyed) {
      // The client went away while the origin was answering: nothing to relay to.
      x.rec.closeReason = 'client_abort';
      x.rec.status = 0;
      x.call?.abort();
      return false;
    }
    x.rec.contentType = head.contentType;
    x.rec.status = status;
    this.#resume = resume;
    // Written with the turn's other answers (core/turn-writes.ts): usually the whole answer, head, body and end.
    hold(res);
    res.writeHead(status, head.headers);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#x.rec.bytesDown += chunk.length;
    if (this.#res.write(chunk)) return true;
    const resume = this.#resume;
    // Never undici's resume from inside 'drain' itself: node emits a response's 'drain' synchronously when another
    // (pipelined, queued) response on the connection buffers a write, which can be inside another origin
    // connection's parser, and undici's resume asserts no parser is running (that response then stalled for good).
    if (resume !== null) this.#res.once('drain', () => process.nextTick(resume));
    return false;
  }

  onComplete(): void {
    this.#x.call = null;
    end(this.#res);
  }

  onError(err: Error): void {
    const x = this.#x;
    x.call = null;
    const res = this.#res;
    if (res.headersSent) {
      // Cut short after the head went out: a client never takes a truncated body for a whole one.
      if (x.rec.closeReason === null) x.rec.closeReason = 'error';
      res.destroy();
      return;
    }
    if (this.settled && res.destroyed) return;
    this.settled = true;
    const body = this.bodyFailed;
    const code: ErrorCode =
      body === null ? classify(err, this.#tls) : body instanceof ProxyError ? body.code : 'bad_request';
    fail(x, res, code, body !== null || res.headersSent);
    this.#req.resume();
  }
}

/** Forwards one allowed request to checked `addresses` (of the origin, or of the parent when `parent` is set). */
export function sendUpstream(
  ctx: ProxyContext,
  req: IncomingMessage,
  res: ServerResponse,
  x: Exchange,
  dest: Destination,
  addresses: string[],
  parent: ParentProxy | null,
): void {
  const { timeouts, limits, forwarded } = ctx.config;
  const headers = endToEndHeaders(req.rawHeaders, REQUEST_ONLY_DROPPED);
  if (req.method === 'OPTIONS') decrementMaxForwards(headers);
  const tls = dest.scheme === 'https';
  headers.push('Host', hostHeader(dest.host, dest.hostKind, dest.port, tls ? 443 : 80));
  if (forwarded.via) headers.push('Via', `${req.httpVersion} cuttle`);
  if (forwarded.x_forwarded_for) headers.push('X-Forwarded-For', clientOf(req.socket).address.address);
  if (parent !== null && parent.authorization !== null)
    headers.push('Proxy-Authorization', parent.authorization);

  // The pool's CA bundle was built when the config was prepared: nothing here reads a file.
  const originTls: OriginTls | null = tls
    ? { host: dest.host, servername: dest.hostKind === 'name' ? dest.host : null }
    : null;
  const method = req.method ?? 'GET';
  const withBody = hasRequestBody(req.headers);
  const relay = new Relay(ctx, req, res, x, tls);
  x.call = ctx.origins.request(
    { addresses, port: parent === null ? dest.port : parent.port, tls: originTls },
    {
      method,
      // Plain HTTP to a parent stays absolute-form (not CONNECT), as Squid's cache_peer does.
      path: parent === null ? dest.path : absoluteTarget(dest),
      headers,
      body: withBody ? countingBody(req, x, relay) : null,
      retryable: !withBody && IDEMPOTENT.has(method),
      connectTimeoutMs: timeouts.upstream_connect_ms,
      responseTimeoutMs: timeouts.upstream_response_ms,
      maxHeaderBytes: limits.max_header_bytes,
    },
    relay,
  );
  if (withBody) {
    req.setTimeout(timeouts.request_body_idle_ms, () => {
      if (relay.settled) return;
      // Answer first (the 408 is written before anything is torn down), then drop the half-sent upstream request.
      relay.settled = true;
      markClosing(req.socket);
      fail(x, res, 'client_timeout', true);
      x.call?.abort();
      x.call = null;
    });
  }
}
