/**
 * The error of a traffic path and the errno table: a socket failure to the error code (outcomes.ts) it is answered
 * and logged with. Callers switch on `code`.
 */
import { ERROR_CODES, type ErrorCode } from './outcomes.js';

export { ERROR_CODES, type ErrorCode } from './outcomes.js';

/** An error of a traffic path, carrying its stable code and the underlying cause. */
export class ProxyError extends Error {
  override readonly name = 'ProxyError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERROR_CODES[code].message, options);
    this.code = code;
  }
}

/** errno (and llhttp `HPE_*`, undici `UND_ERR_*`) to error code: the one table mapping socket failures to HTTP statuses. */
const ERRNO_TABLE: Readonly<Record<string, ErrorCode>> = {
  ECONNREFUSED: 'upstream_refused',
  ECONNRESET: 'upstream_reset',
  EPIPE: 'upstream_reset',
  ECONNABORTED: 'upstream_reset',
  EHOSTUNREACH: 'upstream_unreachable',
  ENETUNREACH: 'upstream_unreachable',
  EHOSTDOWN: 'upstream_unreachable',
  ENETDOWN: 'upstream_unreachable',
  EADDRNOTAVAIL: 'upstream_unreachable',
  EINVAL: 'upstream_unreachable',
  ETIMEDOUT: 'upstream_timeout',
  ENOTFOUND: 'dns_failure',
  EAI_AGAIN: 'dns_failure',
  // undici (the origin client): the socket closed or failed under a request, timers, limits of the response.
  UND_ERR_SOCKET: 'upstream_reset',
  UND_ERR_CONNECT_TIMEOUT: 'upstream_timeout',
  UND_ERR_HEADERS_TIMEOUT: 'upstream_timeout',
  UND_ERR_BODY_TIMEOUT: 'upstream_timeout',
  UND_ERR_HEADERS_OVERFLOW: 'bad_response',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'bad_response',
  UND_ERR_RES_EXCEEDED_MAX_SIZE: 'bad_response',
};

/** Classifies an error from an upstream socket or response parser. Unknown errors are `upstream_failed` (502). */
export function classifyUpstreamError(err: unknown): ErrorCode {
  if (err instanceof ProxyError) return err.code;
  // undici's llhttp refusing a response does not always carry an HPE_ code.
  if ((err as { name?: unknown } | null)?.name === 'HTTPParserError') return 'bad_response';
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return 'upstream_failed';
  const mapped = ERRNO_TABLE[code];
  if (mapped !== undefined) return mapped;
  if (code.startsWith('HPE_')) return 'bad_response';
  return 'upstream_failed';
}
