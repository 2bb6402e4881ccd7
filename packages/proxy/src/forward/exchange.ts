/** One plain-HTTP exchange's bookkeeping: the access record being filled in, written exactly once. */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { newAccessRecord } from '../core/access-record.js';
import { sendError } from '../core/answers.js';
import { clientOf } from '../core/client.js';
import type { AccessRecord, ProxyContext } from '../core/context.js';
import type { ErrorCode } from '../core/errors.js';

/** Per-request bookkeeping; `finish` writes the single access record. */
export class Exchange {
  readonly rec: AccessRecord;
  #done = false;
  readonly #ctx: ProxyContext;
  readonly #start: number;

  constructor(ctx: ProxyContext, req: IncomingMessage) {
    this.#ctx = ctx;
    this.#start = performance.now();
    this.rec = newAccessRecord(clientOf(req.socket).label, req.method ?? '-', 'bad_request');
  }

  /** Writes the record; later calls do nothing. */
  finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.rec.durationMs = Math.round(performance.now() - this.#start);
    this.#ctx.record(this.rec);
  }
}

/** Answers an error and notes it in the record. */
export function fail(x: Exchange, res: ServerResponse, code: ErrorCode, close = false): void {
  x.rec.verdict = 'error';
  x.rec.reason = code;
  x.rec.status = sendError(res, code, close);
}
