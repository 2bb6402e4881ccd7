/**
 * Plain HTTP forwarding (absolute-form requests). Nothing reaches the network before the decision and the guard.
 *
 *   request --framing/limits--> 400/431 + close
 *           --parseProxyTarget--> 400
 *           --policy.decide (zone rule, clients, method, lists, grants, report mode)--> 403 X-Cuttle-Deny
 *           --ctx.resolve (guard)--> 403 private_address | 502 dns
 *           --an answer is one of our own listeners (instance.endpoints)--> 403 self_loop
 *           --`Expect: 100-continue`: 100 Continue only now, once allowed
 *           --http.request(checked addresses, pooled)--> origin
 *             (`https://` absolute-form, forward.https_absolute_form: https.request, certificate verified for the
 *              host against the system CAs plus tls.ca_file --failure--> 502 upstream_tls, nothing sent)
 *             (with `upstream`: the parent's host is resolved and guarded instead, request sent in absolute-form)
 *   origin response --framing/limits--> 502 (socket discarded) | streamed back, hop-by-hop stripped
 *   every outcome --> ctx.record(one AccessRecord)
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { parseProxyTarget } from '@cuttle/shared';
import { sendDeny, sendOptions } from '../core/answers.js';
import { isClosing, markClosing } from '../core/closing.js';
import type { ProxyContext, ResolveResult } from '../core/context.js';
import type { ErrorCode } from '../core/errors.js';
import type { ParentProxy } from '../upstream/index.js';
import { Exchange, fail } from './exchange.js';
import { checkFraming, hasRequestBody, isLastHop } from './hygiene.js';
import { type Destination, sendUpstream } from './send-upstream.js';

const EXCHANGE = Symbol('cuttle.exchange');
type ExchangeResponse = ServerResponse & { [EXCHANGE]?: Exchange };

/**
 * A response's 'close' (one listener function for every request, the exchange on the response: no closure per
 * request): the record is written here, once.
 */
function onResponseClose(this: ExchangeResponse): void {
  const x = this[EXCHANGE];
  if (x === undefined) return;
  if (x.call !== null) {
    // The client went away before the origin's answer was relayed whole: tear the upstream request down.
    x.call.abort();
    x.call = null;
    if (x.rec.closeReason === null) x.rec.closeReason = this.headersSent ? 'error' : 'client_abort';
  }
  if (x.rec.status === 0 && this.headersSent) x.rec.status = this.statusCode;
  x.finish();
}

/**
 * The client's request broke after its head was handed over (llhttp refused its body: bad chunking, a transfer
 * coding it cannot frame): the origin request is torn down and the failure is this exchange's, answered (`code`,
 * and close) if nothing was answered yet, and logged once on its line. False when `res` (the socket's response in
 * flight) is not an exchange's.
 */
export function failMidRequest(socket: Socket, res: ServerResponse, code: ErrorCode): boolean {
  const x = (res as ExchangeResponse)[EXCHANGE];
  if (x === undefined) return false;
  // Whatever llhttp parses after this on the connection is never forwarded.
  markClosing(socket);
  const call = x.call;
  x.call = null;
  call?.abort();
  if (!res.headersSent) fail(x, res, code, true);
  else if (!res.writableEnded) {
    // Cut short while relaying: the client never takes a truncated body for a whole one.
    if (x.rec.closeReason === null) x.rec.closeReason = 'error';
    res.destroy();
  }
  return true;
}

/**
 * Handles one plain-HTTP request from a client. Never throws; always records once. `expectsContinue`: the client
 * sent `Expect: 100-continue` (node's 'checkContinue'); it is invited to send its body only once the request is
 * allowed, so a denied client never uploads.
 */
export function handleRequest(
  ctx: ProxyContext,
  req: IncomingMessage,
  res: ServerResponse,
  expectsContinue = false,
): void {
  const x = new Exchange(ctx, req);
  (res as ExchangeResponse)[EXCHANGE] = x;
  res.on('close', onResponseClose);
  if (isClosing(req.socket)) {
    // A request parsed after a framing rejection on the same connection: never forwarded.
    req.socket.destroy();
    x.finish();
    return;
  }
  // llhttp takes HTTP/2.0 and HTTP/0.9 (also a request line with no version) besides 1.x: neither is forwarded
  // (RFC 9110 15.6.6; before, both went out as HTTP/1.1).
  if (req.httpVersionMajor !== 1) {
    markClosing(req.socket);
    fail(x, res, 'unsupported_version', true);
    return;
  }
  const limits = ctx.config.limits;
  // The lower of the loaded limit and the one this connection's parser got at accept (a reload since cannot raise it).
  const framing = checkFraming(
    req.rawHeaders,
    Math.min(limits.max_header_count, x.client.maxHeaderCount),
    'bad_request',
  );
  if (framing !== null) {
    markClosing(req.socket);
    fail(x, res, framing.code, true);
    return;
  }
  const method = req.method ?? '';
  const target = parseProxyTarget(method, req.url ?? '', {
    allowHttps: ctx.config.forward.https_absolute_form,
  });
  if (!target.ok) {
    fail(x, res, 'bad_target', true);
    return;
  }
  x.rec.host = target.host;
  x.rec.port = target.port;
  x.rec.path = target.path;
  const { client, identity } = x;
  // One question, one answer: the zone rule, clients, method, lists, container grants and report mode are all in it.
  const decision = ctx.policy.decide({
    client: client.address,
    method,
    host: target.host,
    port: target.port,
    listener: client.listener,
    identity,
  });
  x.rec.host = decision.host === '' ? target.host : decision.host;
  x.rec.rule = decision.rule;
  x.rec.reason = decision.reason;
  if (decision.verdict === 'deny') {
    x.rec.verdict = 'deny';
    // With a body unread, close rather than read and discard whatever the client still sends.
    x.rec.status = sendDeny(res, decision.reason, hasRequestBody(req.headers));
    return;
  }
  // RFC 9110 7.6.2: an OPTIONS that may go no further is this recipient's to answer (Squid 5.7 answers 501).
  if (method === 'OPTIONS' && isLastHop(req.headers['max-forwards'] as string | undefined)) {
    x.rec.verdict = decision.verdict;
    x.rec.status = sendOptions(res);
    return;
  }
  const { host, hostKind } = decision;
  const parent = ctx.parent;
  // Chained, the parent resolves the destination: the guard applies to the parent's own address instead.
  if (parent !== null && target.scheme === 'https') {
    // A parent would originate the TLS and verify (or not) on its own: cuttle only does https it verifies itself.
    fail(x, res, 'bad_target');
    return;
  }
  const dest: Destination = { host, hostKind, port: target.port, path: target.path, scheme: target.scheme };
  const askHost = parent === null ? host : parent.host;
  const askKind = parent === null ? hostKind : parent.hostKind;
  // Known at once (IP literal, dns.hosts, cache): no promise, no microtask, no closures for this request.
  const known = ctx.resolveNow?.(askHost, askKind);
  if (known !== undefined) {
    afterResolve(ctx, req, res, x, dest, parent, decision.verdict, expectsContinue, known);
    return;
  }
  ctx.resolve(askHost, askKind).then(
    (resolved) => afterResolve(ctx, req, res, x, dest, parent, decision.verdict, expectsContinue, resolved),
    () => fail(x, res, 'dns_failure'),
  );
}

/** The guard's answer is in: deny, fail, or send the request upstream. */
function afterResolve(
  ctx: ProxyContext,
  req: IncomingMessage,
  res: ServerResponse,
  x: Exchange,
  dest: Destination,
  parent: ParentProxy | null,
  verdict: 'allow' | 'would_deny',
  expectsContinue: boolean,
  resolved: ResolveResult,
): void {
  if (!resolved.ok) {
    if (resolved.code === 'private_address') {
      x.rec.verdict = 'deny';
      x.rec.reason = 'private_address';
      x.rec.answers = resolved.addresses;
      x.rec.status = sendDeny(res, 'private_address', hasRequestBody(req.headers));
      return;
    }
    fail(x, res, resolved.code);
    return;
  }
  x.rec.answers = resolved.addresses;
  // Whatever the allowlist and ranges say, never connect back into this process (nested, laundered requests).
  const port = parent === null ? dest.port : parent.port;
  const endpoints = ctx.instance.endpoints;
  for (const a of resolved.addresses) {
    if (endpoints.isSelf(a, port)) {
      x.rec.verdict = 'deny';
      x.rec.reason = 'self_loop';
      x.rec.status = sendDeny(res, 'self_loop', hasRequestBody(req.headers));
      return;
    }
  }
  // A would-deny goes through like an allow and is logged as what it is.
  x.rec.verdict = verdict;
  if (expectsContinue) res.writeContinue();
  sendUpstream(ctx, req, res, x, dest, resolved.addresses, parent);
}
