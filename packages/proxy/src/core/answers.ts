/**
 * What the proxy itself answers: short plain-text bodies, the deny reason in `X-Cuttle-Deny`, never an echo of
 * anything the client sent. Built for both a ServerResponse and a raw socket (client errors, CONNECT).
 */
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { ALLOWED_METHODS, type DenyReason } from '@cuttle/shared';
import { ERROR_CODES, type ErrorCode } from './errors.js';
import { lingerAfter } from './linger.js';
import { end, hold } from './turn-writes.js';

/** Header naming the deny reason on a 403. */
export const DENY_HEADER = 'X-Cuttle-Deny';
/** Header naming the error code on a 4xx/5xx the proxy produced itself. */
export const ERROR_HEADER = 'X-Cuttle-Error';

const DENY_BODIES = new Map<string, string>();

function denyBody(reason: DenyReason): string {
  let body = DENY_BODIES.get(reason);
  if (body === undefined) {
    body = `Access denied by cuttle: ${reason}\n`;
    DENY_BODIES.set(reason, body);
  }
  return body;
}

/** A prebuilt answer: its body and its head as the flat [name, value, ...] list writeHead takes. */
interface Answer {
  readonly body: string;
  readonly headers: readonly string[];
}

/** The head of a plain-text answer of `body`, then `extra` (header name, value, ...). */
function answerHeaders(body: string, extra: readonly string[]): readonly string[] {
  return Object.freeze([
    'Content-Type',
    'text/plain; charset=utf-8',
    'Content-Length',
    String(Buffer.byteLength(body)),
    'Cache-Control',
    'no-store',
    ...extra,
  ]);
}

const DENY_ANSWERS = new Map<string, Answer>();
/** Error answers by code, with and without `Connection: close`. */
const ERROR_ANSWERS = new Map<string, Answer>();
const ERROR_ANSWERS_CLOSE = new Map<string, Answer>();

/** The deny answer for `reason`, built on first use (the reasons are a closed list). */
function denyAnswer(reason: DenyReason): Answer {
  let a = DENY_ANSWERS.get(reason);
  if (a === undefined) {
    const body = denyBody(reason);
    a = { body, headers: answerHeaders(body, [DENY_HEADER, reason]) };
    DENY_ANSWERS.set(reason, a);
  }
  return a;
}

/** The error answer for `code`, built on first use (the codes are a closed list). */
function errorAnswer(code: ErrorCode, close: boolean): Answer {
  const map = close ? ERROR_ANSWERS_CLOSE : ERROR_ANSWERS;
  let a = map.get(code);
  if (a === undefined) {
    const body = `${ERROR_CODES[code].message}\n`;
    a = {
      body,
      headers: answerHeaders(
        body,
        close ? [ERROR_HEADER, code, 'Connection', 'close'] : [ERROR_HEADER, code],
      ),
    };
    map.set(code, a);
  }
  return a;
}

/** Status for a deny: 503 for connection limits, 403 for everything the policy refuses. */
export function denyStatus(reason: DenyReason): number {
  return reason === 'limit_exceeded' ? 503 : 403;
}

/** Answers a policy deny on a ServerResponse. `close` also ends the client connection. */
export function sendDeny(res: ServerResponse, reason: DenyReason, close = false): number {
  const status = denyStatus(reason);
  const { body, headers } = denyAnswer(reason);
  res.shouldKeepAlive = res.shouldKeepAlive && !close;
  // Closing with the body unread: linger, so the client reads this answer rather than a reset.
  if (close) lingerAfter(res);
  // A deny that keeps the connection goes with the turn's other answers (core/turn-writes.ts).
  else hold(res);
  res.writeHead(status, headers as string[]);
  end(res, body);
  return status;
}

/** Answers an error on a ServerResponse; returns the status sent. */
export function sendError(res: ServerResponse, code: ErrorCode, close = false): number {
  const { status } = ERROR_CODES[code];
  if (res.headersSent) {
    // Too late for a status: the client sees a truncated response, which is the honest answer.
    res.destroy();
    return res.statusCode;
  }
  res.shouldKeepAlive = res.shouldKeepAlive && !close;
  const { body, headers } = errorAnswer(code, close);
  res.writeHead(status, headers as string[]);
  res.end(body);
  return status;
}

/** What an OPTIONS answered by cuttle itself lists: the methods it forwards to an absolute-form target. */
const ALLOW = [...ALLOWED_METHODS].filter((m) => m !== 'CONNECT').join(', ');

/**
 * Answers an OPTIONS that may go no further (`Max-Forwards: 0`, RFC 9110 7.6.2) for the proxy itself: 200 with
 * the methods it forwards in `Allow`, no body. Returns the status.
 */
export function sendOptions(res: ServerResponse): number {
  res.writeHead(200, ['Allow', ALLOW, 'Content-Length', '0', 'Cache-Control', 'no-store']);
  res.end();
  return 200;
}

/** A complete HTTP/1.1 response for a raw socket, with `Connection: close`. */
export function rawAnswer(status: number, headers: Record<string, string>, body: string): string {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  head += `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
  return `${head}Cache-Control: no-store\r\nConnection: close\r\n\r\n${body}`;
}

/** Raw-socket form of a policy deny. */
export function rawDeny(reason: DenyReason): string {
  return rawAnswer(denyStatus(reason), { [DENY_HEADER]: reason }, denyBody(reason));
}

/** Raw-socket form of an error answer. */
export function rawError(code: ErrorCode): string {
  const { status, message } = ERROR_CODES[code];
  return rawAnswer(status, { [ERROR_HEADER]: code }, `${message}\n`);
}
