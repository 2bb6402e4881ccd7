/**
 * Every outcome name a request or tunnel can end with, in one place: the allow and deny reasons (the policy's, from
 * shared, plus the checks made after the decision), the error codes with the status and body they are answered with,
 * and the close reasons of a tunnel or a relayed response. The 403/5xx headers, the access log's `reason` and
 * `close_reason`, the metric labels and docs/errors.md all use these names; `packages/proxy/test/server-docs.test.ts`
 * fails when the page misses one, lists one that no longer exists, or lists one no code path can produce.
 *
 * Adding one: put it in its table here (a deny reason in shared's policy/reasons.ts), produce it, document it.
 */
import type { AllowReason, DenyReason } from '@cuttle/shared';

export { ALLOW_REASONS, type AllowReason, DENY_REASONS, type DenyReason } from '@cuttle/shared';

/** Every non-policy failure a request or tunnel can end with. */
export const ERROR_CODES = {
  bad_request: { status: 400, message: 'Malformed request.' },
  bad_target: { status: 400, message: 'Malformed request target.' },
  unsupported_version: { status: 505, message: 'HTTP version not supported: only HTTP/1.0 and HTTP/1.1.' },
  headers_too_large: { status: 431, message: 'Request header fields too large or too many.' },
  dns_failure: { status: 502, message: 'DNS lookup of the destination failed.' },
  dns_timeout: { status: 502, message: 'DNS lookup of the destination timed out.' },
  upstream_refused: { status: 502, message: 'The destination refused the connection.' },
  upstream_unreachable: { status: 502, message: 'The destination is unreachable.' },
  upstream_reset: { status: 502, message: 'The destination closed the connection.' },
  upstream_failed: { status: 502, message: 'The connection to the destination failed.' },
  bad_response: { status: 502, message: 'The destination sent a malformed or ambiguous response.' },
  upstream_tls: { status: 502, message: "The destination's TLS certificate could not be verified." },
  upstream_timeout: { status: 504, message: 'The destination did not answer in time.' },
  client_timeout: { status: 408, message: 'The request was not received in time.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Why a tunnel, or the relay of a plain-HTTP response, ended (AccessRecord.closeReason). */
export const CLOSE_REASONS = {
  client_end:
    'The client closed its side first (a tunnel), or went away before the answer (a refused tunnel).',
  upstream_end: 'The origin (or the parent) closed its side first.',
  idle_timeout: 'No byte either way for `timeouts.tunnel_idle_ms`.',
  sni_mismatch: 'The ClientHello had no SNI or another name than the CONNECT host (`connect.require_sni`).',
  host_mismatch: 'The first request in a tunnel to a `connect.http_ports` port named another host or port.',
  drain: 'Closed by a drain that ran out of time (SIGTERM, `timeouts.drain_ms`).',
  client_abort: 'Plain HTTP: the client went away before the response head was sent.',
  error: 'A socket error on either side, or the client went away while the response streamed.',
} as const;

export type CloseReason = keyof typeof CLOSE_REASONS;

/** What an access record says happened. `would_deny`: report mode let a would-be deny through. */
export type Verdict = 'allow' | 'deny' | 'would_deny' | 'error';

/** The `reason` of an access record: an allow reason, a deny reason, or an error code. */
export type Reason = AllowReason | DenyReason | ErrorCode;
