/** One plain-HTTP exchange's bookkeeping: the access record being filled in, written exactly once. */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientIdentity } from '@cuttle/shared';
import { newAccessRecord } from '../core/access-record.js';
import { sendError } from '../core/answers.js';
import { type ClientInfo, clientOf } from '../core/client.js';
import type { AccessRecord, ProxyContext } from '../core/context.js';
import type { ErrorCode } from '../core/errors.js';
import type { OriginCall } from '../core/origin-pool.js';

/** Per-request bookkeeping; `finish` writes the single access record. */
export class Exchange {
  readonly rec: AccessRecord;
  /** The client as the server tagged its connection. */
  readonly client: ClientInfo;
  /** Which container the client is (asked once, at the start), for the decision and the record. */
  readonly identity: ClientIdentity | null;
  /** The request to the origin while it is in flight (aborted when the client goes away first). */
  call: OriginCall | null = null;
  #done = false;
  readonly #ctx: ProxyContext;
  readonly #start: number;

  constructor(ctx: ProxyContext, req: IncomingMessage) {
    this.#ctx = ctx;
    this.#start = performance.now();
    this.client = clientOf(req.socket);
    this.identity = ctx.identify(this.client);
    this.rec = newAccessRecord(this.client.label, req.method ?? '-', 'bad_request');
    this.rec.container = this.identity?.name ?? null;
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
