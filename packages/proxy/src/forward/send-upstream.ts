/**
 * Sends an allowed, checked request to the origin (or the parent of `upstream`) and streams the answer back.
 *
 *   headers: end-to-end only, Host from the target, Via/X-Forwarded-For only if configured
 *   http.request(pooled agent, lookup = the checked addresses only) --connect timer--> 504
 *   request body --pipeline (idle timer: 408 + close)--> upstream
 *   response --framing check--> 502 (socket discarded) | writeHead(end-to-end headers) --pipe--> client
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream';
import { sendError } from '../core/answers.js';
import { clientOf } from '../core/client.js';
import { markClosing } from '../core/closing.js';
import type { ProxyContext } from '../core/context.js';
import { classifyUpstreamError, type ErrorCode, ProxyError } from '../core/errors.js';
import { type ParentProxy, upstreamRequestOptions } from '../upstream/index.js';
import { type Exchange, fail } from './exchange.js';
import { checkFraming, endToEndHeaders, hasRequestBody, hostHeader } from './hygiene.js';
import { fixedLookup, tlsOriginAgent } from './origin-agent.js';

/** net tries each checked address in turn (a refusal moves on to the next); missing from @types/node 20. */
const TRY_EVERY_ADDRESS = { autoSelectFamily: true } as object;

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

/** `upstream_tls` for a TLS failure on an https origin, else the usual errno table. */
function classify(err: unknown, tls: boolean): ErrorCode {
  if (tls && !(err instanceof ProxyError)) {
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && TLS_ERROR.test(code)) return 'upstream_tls';
  }
  return classifyUpstreamError(err);
}

/** Flat `[name, value, ...]` to an object with repeated names as arrays (for the parent's request options). */
function headerObject(flat: readonly string[]): OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const k = (flat[i] as string).toLowerCase();
    const v = flat[i + 1] as string;
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
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
  const headers = endToEndHeaders(req.rawHeaders);
  const tls = dest.scheme === 'https';
  headers.push('Host', hostHeader(dest.host, dest.hostKind, dest.port, tls ? 443 : 80));
  if (forwarded.via) headers.push('Via', `${req.httpVersion} cuttle`);
  if (forwarded.x_forwarded_for) headers.push('X-Forwarded-For', clientOf(req.socket).address.address);

  let agent: http.Agent;
  try {
    agent = tls ? tlsOriginAgent(ctx.config.tls) : ctx.instance.originAgent;
  } catch {
    // tls.ca_file unreadable: verification cannot be done as configured, so nothing is sent.
    fail(x, res, 'upstream_tls', true);
    return;
  }
  const common = {
    ...TRY_EVERY_ADDRESS,
    agent,
    lookup: fixedLookup(addresses),
    maxHeaderSize: limits.max_header_bytes,
    insecureHTTPParser: false,
    joinDuplicateHeaders: false,
  };
  const upstream = (tls ? https.request : http.request)(
    parent === null
      ? {
          ...common,
          host: dest.host,
          port: dest.port,
          method: req.method,
          path: dest.path,
          headers,
          setHost: false,
        }
      : upstreamRequestOptions(parent, parent.host, req.method ?? 'GET', dest, headerObject(headers), common),
  );
  upstream.maxHeadersCount = limits.max_header_count;
  let settled = false;
  const onUpstreamError = (err: unknown): void => {
    if (settled) return;
    settled = true;
    const code = classify(err, tls);
    fail(x, res, code, res.headersSent);
    req.resume();
  };
  upstream.on('error', onUpstreamError);
  upstream.on('socket', (socket: Socket) => {
    if (socket.remoteAddress !== undefined && !socket.connecting)
      x.rec.upstream = `${socket.remoteAddress}:${socket.remotePort}`;
    if (!socket.connecting) return;
    const timer = setTimeout(
      () => upstream.destroy(new ProxyError('upstream_timeout', 'connect timeout')),
      timeouts.upstream_connect_ms,
    );
    socket.once('connect', () => {
      // For an https origin the TLS handshake stays under the connect timer.
      if (!tls) clearTimeout(timer);
      x.rec.upstream = `${socket.remoteAddress}:${socket.remotePort}`;
    });
    if (tls) socket.once('secureConnect', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
  });
  upstream.setTimeout(timeouts.upstream_response_ms, () =>
    upstream.destroy(new ProxyError('upstream_timeout', 'no response in time')),
  );
  upstream.on('response', (ures: IncomingMessage) => {
    const problem = checkFraming(ures.rawHeaders, limits.max_header_count, 'bad_response');
    if (problem !== null) {
      // Never pass on or pool a connection whose framing is in doubt.
      ures.socket.destroy();
      upstream.destroy();
      onUpstreamError(new ProxyError('bad_response', problem.detail));
      return;
    }
    settled = true;
    if (res.destroyed) {
      // The client went away while the origin was answering: nothing to relay to.
      x.rec.closeReason = 'client_abort';
      x.rec.status = 0;
      ures.destroy();
      upstream.destroy();
      return;
    }
    x.rec.contentType = (ures.headers['content-type'] as string | undefined) ?? null;
    x.rec.status = ures.statusCode ?? 502;
    res.writeHead(x.rec.status, endToEndHeaders(ures.rawHeaders));
    ures.on('data', (chunk: Buffer) => {
      x.rec.bytesDown += chunk.length;
    });
    // pipe() with explicit teardown rather than stream.pipeline(): pipeline builds an AbortController and a
    // DOMException per response, 13% of busy CPU on Node 20 (bench/README.md: 171 -> 113 us per request), and on
    // Node 24 it throws synchronously into a destroyed response. Any failure on either side tears down all three,
    // so a client never takes a truncated body for a whole one.
    const abort = (): void => {
      if (x.rec.closeReason === null) x.rec.closeReason = 'error';
      ures.destroy();
      upstream.destroy();
      res.destroy();
    };
    ures.once('error', abort);
    ures.once('close', () => {
      if (!ures.complete) abort();
    });
    res.once('error', abort);
    res.once('close', () => {
      if (!res.writableFinished) abort();
    });
    ures.pipe(res);
  });

  if (hasRequestBody(req.headers)) {
    req.setTimeout(timeouts.request_body_idle_ms, () => {
      if (settled) return;
      // Answer first (the 408 is written before anything is torn down), then drop the half-sent upstream request.
      settled = true;
      markClosing(req.socket);
      fail(x, res, 'client_timeout', true);
      upstream.destroy();
    });
    req.on('data', (chunk: Buffer) => {
      x.rec.bytesUp += chunk.length;
    });
    pipeline(req, upstream, (err: NodeJS.ErrnoException | null) => {
      if (err && !settled) {
        settled = true;
        upstream.destroy();
        const code: ErrorCode = err instanceof ProxyError ? err.code : 'bad_request';
        x.rec.reason = code;
        x.rec.verdict = 'error';
        if (!res.headersSent) x.rec.status = sendError(res, code, true);
        else res.destroy();
      }
    });
  } else {
    upstream.end();
  }
}
