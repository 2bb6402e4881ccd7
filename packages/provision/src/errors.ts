/**
 * Errors of cuttle-provision, each with a stable `code` callers can switch on. The CLI maps them to exit codes:
 * config and usage errors 2, everything that fails while talking to the host 3.
 */
import { CuttleError } from '@cuttle/shared';

/** Bad command-line usage (unknown flag, missing value). Exit code 2. */
export class UsageError extends CuttleError {
  override readonly name = 'UsageError';
  readonly code = 'CUTTLE_ERR_USAGE';
}

/**
 * What went wrong talking to LXD, for callers to switch on:
 * - `unreachable`: no daemon at the socket (missing, connection refused) or no answer within the timeout;
 * - `refused`: LXD (or the socket's permissions) said no: EACCES on the socket, 401/403, 400/500 answers, an
 *   operation that failed;
 * - `not_found`: 404; `conflict`: 409 (exists already) or 412 (changed between read and write);
 * - `timeout`: an operation still running when its wait ended.
 */
export type LxdErrorKind = 'unreachable' | 'refused' | 'not_found' | 'conflict' | 'timeout';

/** The kind of an answered LXD error with HTTP-like `status`. */
export function lxdErrorKind(status: number): LxdErrorKind {
  if (status === 404) return 'not_found';
  if (status === 409 || status === 412) return 'conflict';
  return 'refused';
}

/** LXD's unix socket could not be found or connected to, or did not answer in time. */
export class LxdUnreachableError extends CuttleError {
  override readonly name = 'LxdUnreachableError';
  readonly code = 'CUTTLE_ERR_LXD_UNREACHABLE';
  readonly kind: 'unreachable' | 'refused';

  constructor(message: string, options?: { cause?: unknown; kind?: 'unreachable' | 'refused' }) {
    super(message, options);
    this.kind = options?.kind ?? 'unreachable';
  }
}

/** LXD answered with an error (its `error` text and status are kept). */
export class LxdApiError extends CuttleError {
  override readonly name = 'LxdApiError';
  readonly code = 'CUTTLE_ERR_LXD';
  readonly status: number;
  readonly method: string;
  readonly path: string;
  readonly kind: LxdErrorKind;

  constructor(
    method: string,
    path: string,
    status: number,
    message: string,
    options?: { cause?: unknown; kind?: LxdErrorKind },
  ) {
    super(`LXD ${method} ${path} failed (${status}): ${message}`, options);
    this.status = status;
    this.method = method;
    this.path = path;
    this.kind = options?.kind ?? lxdErrorKind(status);
  }
}

/** The host cannot be brought to the declared state without a step cuttle-provision will not take. */
export class ApplyError extends CuttleError {
  override readonly name = 'ApplyError';
  readonly code = 'CUTTLE_ERR_APPLY';
}
