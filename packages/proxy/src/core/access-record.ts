import type { AccessRecord } from './context.js';
import type { Reason } from './outcomes.js';

/**
 * A fresh access record for one request or tunnel: everything unknown yet, verdict `error` with `reason` until the
 * traffic path learns better. One shape for every path, so a field added to AccessRecord is set everywhere.
 */
export function newAccessRecord(client: string, method: string, reason: Reason, status = 0): AccessRecord {
  return {
    time: Date.now(),
    client,
    container: null,
    method,
    host: '-',
    port: 0,
    path: null,
    verdict: 'error',
    reason,
    rule: null,
    status,
    bytesUp: 0,
    bytesDown: 0,
    durationMs: 0,
    upstream: null,
    answers: null,
    closeReason: null,
    sni: null,
    contentType: null,
    retried: false,
  };
}
