/**
 * The node:http server of one listener: explicit limits on the head (count and bytes), slowloris and keep-alive
 * timeouts, connection limits, and dispatch to the traffic paths with the context of the moment.
 *
 *   accept --descriptors short (lifecycle/descriptor-guard.ts)--> closed at once, counted, not logged
 *          --limits--> 503/drop (limit_exceeded), lingering close; the HTTP parser is never attached, so nothing
 *                      the client sent is parsed or forwarded
 *          --tag client (address and the listener's zone, or unix:NAME)
 *          --first bytes a plain CONNECT head (plain-connect.ts)--> tunnel.handleConnect
 *          --else node's parser--> 'request' -> forward.handleRequest
 *                                  'checkContinue' -> the same, 100 Continue only once allowed
 *                                  'connect' -> tunnel.handleConnect
 *                                  'clientError' -> 400/408/431 + close
 *   (the zone rule and the unix socket's identity are the policy's: the traffic paths hand it the client tag)
 */

import * as http from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from '@cuttle/shared';
import { newAccessRecord } from '../core/access-record.js';
import { rawAnswer, rawDeny } from '../core/answers.js';
import { type ClientInfo, clientOf, tagClient } from '../core/client.js';
import type { AccessRecord, ProxyContext } from '../core/context.js';
import { ERROR_CODES, type ErrorCode } from '../core/errors.js';
import { endLingering } from '../core/linger.js';
import type { Reason } from '../core/outcomes.js';
import { failMidRequest, handleRequest } from '../forward/index.js';
import { handleConnect } from '../tunnel/index.js';
import type { ConnectionLimits } from './connection-limits.js';
import { parsePlainConnect } from './plain-connect.js';

/** node's per-server head byte limit (settable, read when a parser is attached; not in @types/node). */
type ServerWithSize = http.Server & { maxHeaderSize: number };

/** How often node checks head and request timeouts (its default, 30 s, would make `header_ms` coarse). */
const TIMEOUT_CHECK_MS = 1000;

export interface ProxyHttpServerOptions {
  /** The context of the moment (a reload swaps it). */
  readonly context: () => ProxyContext;
  /** The listener's zone for link-local binds, else undefined. */
  readonly zone: string | undefined;
  /** Shared by every listener of the process. */
  readonly limits: ConnectionLimits;
  /** `unix:NAME` on a unix socket listener (the client identity of all its connections), else undefined. */
  readonly unixLabel?: string | undefined;
}

/** A listener-level record (limits, unparsable heads): no request, the client and its container only. */
function errorRecord(
  ctx: ProxyContext,
  client: ClientInfo,
  code: Reason,
  status: number,
  verdict: AccessRecord['verdict'],
): AccessRecord {
  const rec: AccessRecord = { ...newAccessRecord(client.label, '-', code, status), verdict };
  rec.container = ctx.identify(client)?.name ?? null;
  return rec;
}

/** A request line ending in `HTTP/<digits>.<digits>` and CRLF (node's `rawPacket`: the bytes being parsed). */
const VERSIONED_LINE = /^[!-~]+ [!-~]+ HTTP\/\d+\.\d+\r\n/;

/**
 * llhttp says HPE_INVALID_VERSION both for a version it cannot take (HTTP/1.2, 3.0, 9.9: 505, RFC 9110 15.6.6, as
 * Squid 5.7 answers) and for a line that is broken there (a bare LF after the version: 400). Without `rawPacket`
 * and `bytesParsed` (node's, not documented as stable) it is a 400, as before.
 */
function isWellFormedVersion(err: NodeJS.ErrnoException): boolean {
  const { rawPacket: raw, bytesParsed: at } = err as { rawPacket?: unknown; bytesParsed?: unknown };
  if (!Buffer.isBuffer(raw) || typeof at !== 'number' || at < 1 || at > raw.length) return false;
  // The line llhttp stopped in (a request pipelined behind others starts inside the packet).
  const start = raw.lastIndexOf(0x0a, at - 1) + 1;
  return VERSIONED_LINE.test(raw.toString('latin1', start, Math.min(raw.length, start + 16_384)));
}

/** llhttp error codes (and node's own) mapped to the answer for a client whose head could not be parsed. */
function clientErrorCode(err: NodeJS.ErrnoException): ErrorCode {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return 'headers_too_large';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADERS_TIMEOUT':
      return 'client_timeout';
    case 'HPE_INVALID_VERSION':
      return isWellFormedVersion(err) ? 'unsupported_version' : 'bad_request';
    default:
      return 'bad_request';
  }
}

/**
 * Sets the config's head limits and timeouts on a listener's server (at creation and on every reload). The head
 * limits are read when a connection's first bytes arrive (by the plain-CONNECT path, or by node as it attaches its
 * parser), so they hold for connections whose first bytes arrive from then on; `headersTimeout` is read at each
 * timeout check and `keepAliveTimeout` after each response, so they hold for every connection from then on.
 */
export function applyServerOptions(server: http.Server, config: Config): void {
  (server as ServerWithSize).maxHeaderSize = config.limits.max_header_bytes;
  server.maxHeadersCount = config.limits.max_header_count;
  server.headersTimeout = config.timeouts.header_ms;
  server.keepAliveTimeout = config.timeouts.keepalive_ms;
}

/**
 * node's response in flight on a client socket, if any (`_httpMessage`, an internal of node:http on Node 20 and 24).
 * Anything else there, or nothing (a node without it), reads as none: a CONNECT is then handled at once and a
 * broken body closes the connection, as before those two fixes, and nothing throws.
 */
function pendingResponse(socket: Socket): http.ServerResponse | null {
  const res = (socket as Socket & { _httpMessage?: unknown })._httpMessage;
  return res instanceof http.ServerResponse ? res : null;
}

/**
 * Runs `then` once every answer still due on `socket` went out (RFC 9112 9.3.2: in order, as Squid does). node
 * hands over a CONNECT pipelined behind requests as soon as it parses it: handled at once, its 200 went out before
 * their answers, which then landed inside the tunnel (a 403 instead of the answer it stood behind). The socket is
 * not read meanwhile (node left it not flowing; its bytes wait for the tunnel). A client gone meanwhile is dropped.
 */
function afterAnswers(socket: Socket, res: http.ServerResponse, then: () => void): void {
  let done = false;
  const next = (): void => {
    if (done) return;
    done = true;
    // node's own 'finish' listener ran first: it handed the socket to the next answer due, if any.
    const more = pendingResponse(socket);
    if (socket.destroyed || !socket.writable) socket.destroy();
    else if (more) afterAnswers(socket, more, then);
    else then();
  };
  res.once('finish', next);
  res.once('close', next);
}

/** Creates the http.Server for one listener (not yet listening). */
export function createProxyHttpServer(options: ProxyHttpServerOptions): http.Server {
  const { unixLabel, context } = options;
  const initial = context().config;
  const server = http.createServer({
    maxHeaderSize: initial.limits.max_header_bytes,
    headersTimeout: initial.timeouts.header_ms,
    // Whole-request time is not limited: uploads may be long. Idle bodies are bounded in forward instead.
    requestTimeout: 0,
    keepAliveTimeout: initial.timeouts.keepalive_ms,
    connectionsCheckingInterval: TIMEOUT_CHECK_MS,
    insecureHTTPParser: false,
    requireHostHeader: false,
    joinDuplicateHeaders: false,
    noDelay: true,
  });
  applyServerOptions(server, initial);
  // A client may send its request and then shut down its sending side (busybox wget does): without this, Node
  // aborts the pending request on the FIN and the answer is lost. The keep-alive timeout still reaps the socket.
  (server as http.Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;

  // Node's own 'connection' listener attaches the HTTP parser. It runs only for admitted connections: a refused
  // one must not have its request parsed (else a POST would still be forwarded and a CONNECT still tunnelled).
  const attachParser = server.listeners('connection') as ((this: http.Server, socket: Socket) => void)[];
  if (attachParser.length !== 1) throw new Error("node:http's connection listener was not found");
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    if (!options.limits.takeDescriptor()) {
      // Descriptors run short: closed before anything is read or logged, so the fd is free again at once.
      socket.destroy();
      return;
    }
    // The count limit of the moment; tagged again when node's parser is attached (at the first bytes, unless they
    // are a plain CONNECT) with the limit that parser gets, which the connection keeps across reloads.
    const info = tagClient(
      socket,
      options.zone,
      unixLabel,
      server.maxHeadersCount ?? Number.POSITIVE_INFINITY,
    );
    const ctx = context();
    const { max_connections, max_connections_per_client, over_limit } = ctx.config.limits;
    if (!options.limits.admit(socket, info.address.address, max_connections, max_connections_per_client)) {
      ctx.record(errorRecord(ctx, info, 'limit_exceeded', over_limit === 'drop' ? 0 : 503, 'deny'));
      endLingering(socket, over_limit === 'drop' ? undefined : rawDeny('limit_exceeded'));
      return;
    }
    socket.on('error', () => {});
    awaitFirstBytes(socket);
  });

  // A connection waits here for its first bytes: a plain CONNECT in them (plain-connect.ts) is handled at once,
  // anything else goes to node's parser with the bytes put back, and node's head timeout runs from then on. node's
  // head timeout and connection closing cover only the parsers it attached, so a connection still waiting gets
  // the same from here: the 408 of `headersTimeout` (`header_ms`, the loaded one: a reload applies to waiting
  // connections too), checked as often as node checks its own, and the server's closeIdleConnections and
  // closeAllConnections (drain, a dropped listener) close it.
  const waiting = new Map<Socket, number>();
  let sweeper: NodeJS.Timeout | null = null;
  const sweep = (): void => {
    const now = performance.now();
    for (const [socket, since] of waiting) {
      // In accept order (a monotonic clock): the first one still in time ends the sweep.
      if (now - since < server.headersTimeout) break;
      timeOut(socket);
    }
    if (waiting.size === 0 && sweeper !== null) {
      clearInterval(sweeper);
      sweeper = null;
    }
  };
  // The answer and record of node's own head timeout (a 408, client_timeout), through the same handler.
  const timeOut = (socket: Socket): void => {
    stopWaiting(socket);
    server.emit(
      'clientError',
      Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }),
      socket,
    );
  };
  const stopWaiting = (socket: Socket): void => {
    waiting.delete(socket);
    socket.off('data', onFirstData);
    socket.off('end', onEndFirst);
    socket.off('close', onCloseFirst);
  };
  // Shared by every connection (`this` is the socket), not closures per connection.
  function onFirstData(this: Socket, chunk: Buffer): void {
    stopWaiting(this);
    this.pause();
    // The head limits node's parser would get now, attached now: the loaded ones.
    const maxCount = server.maxHeadersCount ?? Number.POSITIVE_INFINITY;
    const plain = parsePlainConnect(chunk, (server as ServerWithSize).maxHeaderSize, maxCount);
    if (plain !== null) {
      handleConnect(context(), plain.target, true, this, chunk.subarray(plain.end));
      return;
    }
    // The connection's count limit is its parser's, read by node now (a new tag only if a reload changed it).
    if (clientOf(this).maxHeaderCount !== maxCount) tagClient(this, options.zone, unixLabel, maxCount);
    this.unshift(chunk);
    for (const attach of attachParser) attach.call(server, this);
    this.resume();
  }
  // A client that sent its FIN and nothing else has asked nothing: closed, as node's parser closes it.
  function onEndFirst(this: Socket): void {
    stopWaiting(this);
    this.destroy();
  }
  function onCloseFirst(this: Socket): void {
    stopWaiting(this);
  }
  const awaitFirstBytes = (socket: Socket): void => {
    waiting.set(socket, performance.now());
    if (sweeper === null) {
      sweeper = setInterval(sweep, TIMEOUT_CHECK_MS);
      sweeper.unref();
    }
    socket.on('data', onFirstData);
    socket.on('end', onEndFirst);
    socket.on('close', onCloseFirst);
  };
  const closeIdle = server.closeIdleConnections.bind(server);
  const closeAll = server.closeAllConnections.bind(server);
  server.closeIdleConnections = (): void => {
    for (const s of waiting.keys()) s.destroy();
    closeIdle();
  };
  server.closeAllConnections = (): void => {
    for (const s of waiting.keys()) s.destroy();
    closeAll();
  };

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) =>
    handleRequest(context(), req, res),
  );
  // With a listener here node sends no automatic 100 Continue: forward sends it once the request is allowed.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) =>
    handleRequest(context(), req, res, true),
  );
  server.on('connect', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    const target = req.url ?? '';
    const http1 = req.httpVersionMajor === 1;
    const pending = pendingResponse(socket);
    if (pending) afterAnswers(socket, pending, () => handleConnect(context(), target, http1, socket, head));
    else handleConnect(context(), target, http1, socket, head);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // Bytes after a request that said `Connection: close`: not a request (RFC 9112 9.6), ignored; the requests
    // before are answered and node closes after the last. (Failing here cost those answers.)
    if (err.code === 'HPE_CLOSED_CONNECTION') return;
    const code = clientErrorCode(err);
    const info = clientOf(socket);
    const inFlight = pendingResponse(socket);
    // A body refused after its head became a request: that request's own answer and log line say so.
    if (inFlight && failMidRequest(socket, inFlight, code)) return;
    if (socket.writable && !inFlight) {
      const { status, message } = ERROR_CODES[code];
      socket.end(rawAnswer(status, { 'X-Cuttle-Error': code }, `${message}\n`));
      const ctx = context();
      ctx.record(errorRecord(ctx, info, code, status, 'error'));
    } else {
      const ctx = context();
      ctx.record(errorRecord(ctx, info, code, 0, 'error'));
    }
    socket.destroySoon?.();
  });
  return server;
}
