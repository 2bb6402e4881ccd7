/**
 * Errors of cuttle-provision, each with a stable `code` callers can switch on. The CLI maps them to exit codes:
 * config and usage errors 2, everything that fails while talking to the host 3.
 */

/** Bad command-line usage (unknown flag, missing value). Exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'CUTTLE_ERR_USAGE';
}

/** LXD's unix socket could not be found or connected to. */
export class LxdUnreachableError extends Error {
  override readonly name = 'LxdUnreachableError';
  readonly code = 'CUTTLE_ERR_LXD_UNREACHABLE';
}

/** LXD answered with an error (its `error` text and status are kept). */
export class LxdApiError extends Error {
  override readonly name = 'LxdApiError';
  readonly code = 'CUTTLE_ERR_LXD';
  readonly status: number;
  readonly method: string;
  readonly path: string;

  constructor(method: string, path: string, status: number, message: string, options?: { cause?: unknown }) {
    super(`LXD ${method} ${path} failed (${status}): ${message}`, options);
    this.status = status;
    this.method = method;
    this.path = path;
  }
}

/** The host cannot be brought to the declared state without a step cuttle-provision will not take. */
export class ApplyError extends Error {
  override readonly name = 'ApplyError';
  readonly code = 'CUTTLE_ERR_APPLY';
}
