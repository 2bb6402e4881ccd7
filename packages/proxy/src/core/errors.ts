/**
 * Error codes of the traffic paths, defined once: the status sent to the client, the short body, and the `reason`
 * written to the access log. docs/errors.md lists them (a test keeps it in sync). Callers switch on `code`.
 */

/** Every non-policy failure a request or tunnel can end with. */
export const ERROR_CODES = {
  bad_request: { status: 400, message: 'Malformed request.' },
  bad_target: { status: 400, message: 'Malformed request target.' },
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
  over_capacity: { status: 503, message: 'Too many connections.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

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
