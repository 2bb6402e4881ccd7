/**
 * Plain HTTP forwarding (absolute-form requests). Nothing reaches the network before the decision and the guard.
 *
 *   request --framing/limits--> 400/431 + close
 *           --parseProxyTarget--> 400
 *           --policy.decide--> 403 X-Cuttle-Deny
 *           --ctx.resolve (guard)--> 403 private_address | 502 dns
 *           --http.request(checked addresses, pooled)--> origin
 *             (with `upstream`: the parent's host is resolved and guarded instead, request sent in absolute-form)
 *   origin response --framing/limits--> 502 (socket discarded) | streamed back, hop-by-hop stripped
 *   every outcome --> ctx.record(one AccessRecord)
 */

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream';
import { parseProxyTarget } from '@cuttle/shared';
import { sendDeny, sendError } from '../answers.js';
import type { AccessRecord, ProxyContext } from '../context.js';
import { classifyUpstreamError, type ErrorCode, ProxyError } from '../errors.js';
import { clientOf } from '../server/client.js';
import { isClosing, markClosing } from '../server/closing.js';
import { type ParentProxy, parentProxyOf, upstreamRequestOptions } from '../upstream/index.js';
import { checkFraming, endToEndHeaders, hasRequestBody, hostHeader } from './hygiene.js';
import { fixedLookup, ORIGIN_AGENT } from './origin-agent.js';

/** Methods forwarded as plain HTTP; anything else is `method_denied` (CONNECT goes to the tunnel). */
export const FORWARD_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
]);

/** net tries each checked address in turn (a refusal moves on to the next); missing from @types/node 20. */
const TRY_EVERY_ADDRESS = { autoSelectFamily: true } as object;

/** Per-request bookkeeping; `finish` writes the single access record. */
class Exchange {
  readonly rec: AccessRecord;
  #done = false;
  readonly #ctx: ProxyContext;
  readonly #start: number;

  constructor(ctx: ProxyContext, req: IncomingMessage) {
    this.#ctx = ctx;
    this.#start = performance.now();
    this.rec = {
      time: Date.now(),
      client: clientOf(req.socket).label,
      container: null,
      method: req.method ?? '-',
      host: '-',
      port: 0,
      path: null,
      verdict: 'error',
      reason: 'bad_request',
      rule: null,
      status: 0,
      bytesUp: 0,
      bytesDown: 0,
      durationMs: 0,
      upstream: null,
      answers: null,
      closeReason: null,
      sni: null,
      contentType: null,
    };
  }

  finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.rec.durationMs = Math.round(performance.now() - this.#start);
    this.#ctx.record(this.rec);
  }
}

function fail(x: Exchange, res: ServerResponse, code: ErrorCode, close = false): void {
  x.rec.verdict = 'error';
  x.rec.reason = code;
  x.rec.status = sendError(res, code, close);
}

/** Handles one plain-HTTP request from a client. Never throws; always records once. */
export function handleRequest(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse): void {
  const x = new Exchange(ctx, req);
  res.once('close', () => {
    if (x.rec.status === 0 && res.headersSent) x.rec.status = res.statusCode;
    x.finish();
  });
  if (isClosing(req.socket)) {
    // A request parsed after a framing rejection on the same connection: never forwarded.
    req.socket.destroy();
    x.finish();
    return;
  }
  const limits = ctx.config.limits;
  const framing = checkFraming(req.rawHeaders, limits.max_header_count, 'bad_request');
  if (framing !== null) {
    markClosing(req.socket);
    fail(x, res, framing.code, true);
    return;
  }
  const method = req.method ?? '';
  const target = parseProxyTarget(method, req.url ?? '');
  if (!target.ok) {
    fail(x, res, 'bad_target', true);
    return;
  }
  x.rec.host = target.host;
  x.rec.port = target.port;
  x.rec.path = target.path;
  const client = clientOf(req.socket);
  let decision = ctx.policy.decide({ client: client.address, method, host: target.host, port: target.port });
  if (decision.verdict === 'allow' && !FORWARD_METHODS.has(method)) {
    decision = {
      verdict: 'deny',
      reason: 'method_denied',
      rule: null,
      host: decision.host,
      hostKind: decision.hostKind,
    };
  }
  if (client.zoneMismatch) {
    decision = {
      verdict: 'deny',
      reason: 'client_denied',
      rule: null,
      host: decision.host,
      hostKind: decision.hostKind,
    };
  }
  x.rec.host = decision.host === '' ? target.host : decision.host;
  x.rec.rule = decision.rule;
  x.rec.reason = decision.reason;
  if (decision.verdict === 'deny') {
    x.rec.verdict = 'deny';
    x.rec.status = sendDeny(res, decision.reason);
    return;
  }
  const { host, hostKind } = decision;
  let parent: ParentProxy | null;
  try {
    parent = parentProxyOf(ctx.config);
  } catch {
    fail(x, res, 'upstream_failed');
    return;
  }
  // Chained, the parent resolves the destination: the guard applies to the parent's own address instead.
  const dest: Destination = { host, hostKind, port: target.port, path: target.path };
  const resolving = parent === null ? ctx.resolve(host, hostKind) : ctx.resolve(parent.host, parent.hostKind);
  resolving.then(
    (resolved) => {
      if (!resolved.ok) {
        if (resolved.code === 'private_address') {
          x.rec.verdict = 'deny';
          x.rec.reason = 'private_address';
          x.rec.answers = resolved.addresses;
          x.rec.status = sendDeny(res, 'private_address');
          return;
        }
        fail(x, res, resolved.code);
        return;
      }
      x.rec.answers = resolved.addresses;
      x.rec.verdict = 'allow';
      forward(ctx, req, res, x, dest, resolved.addresses, parent);
    },
    () => fail(x, res, 'dns_failure'),
  );
}

interface Destination {
  readonly host: string;
  readonly hostKind: string;
  readonly port: number;
  readonly path: string;
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

function forward(
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
  headers.push('Host', hostHeader(dest.host, dest.hostKind, dest.port));
  if (forwarded.via) headers.push('Via', `${req.httpVersion} cuttle`);
  if (forwarded.x_forwarded_for) headers.push('X-Forwarded-For', clientOf(req.socket).address.address);

  const common = {
    ...TRY_EVERY_ADDRESS,
    agent: ORIGIN_AGENT,
    lookup: fixedLookup(addresses),
    maxHeaderSize: limits.max_header_bytes,
    insecureHTTPParser: false,
    joinDuplicateHeaders: false,
  };
  const upstream = http.request(
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
    const code = classifyUpstreamError(err);
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
      clearTimeout(timer);
      x.rec.upstream = `${socket.remoteAddress}:${socket.remotePort}`;
    });
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
    x.rec.contentType = (ures.headers['content-type'] as string | undefined) ?? null;
    x.rec.status = ures.statusCode ?? 502;
    res.writeHead(x.rec.status, endToEndHeaders(ures.rawHeaders));
    ures.on('data', (chunk: Buffer) => {
      x.rec.bytesDown += chunk.length;
    });
    pipeline(ures, res, (err) => {
      if (err) {
        x.rec.closeReason = 'error';
        upstream.destroy();
        res.destroy();
      }
    });
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
