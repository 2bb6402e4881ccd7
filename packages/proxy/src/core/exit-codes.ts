/**
 * Exit codes, one scheme for every command of both CLIs (docs/exit-codes.md): 0 yes, 1 no, 2 usage or config
 * error (what was given cannot be used), 3 runtime failure (the machine would not do it).
 */
import { CuttleError } from '@cuttle/shared';
export const EXIT = {
  /** Allowed, valid, converted, printed. */
  OK: 0,
  /** Denied. */
  NO: 1,
  /** Bad usage, a config or squid.conf that cannot be used, a named file that does not exist. */
  USAGE: 2,
  /** A file that exists but cannot be read, a listener that cannot bind, an internal error. */
  RUNTIME: 3,
} as const;

/** Bad command-line usage: printed with the command's usage line, exit 2, never a stack trace. */
export class UsageError extends CuttleError {
  override readonly name = 'UsageError';
  readonly code = 'CUTTLE_ERR_USAGE';
}

/** A failure at run time (a file unreadable): exit 3. */
export class RuntimeError extends CuttleError {
  override readonly name = 'RuntimeError';
  readonly code = 'CUTTLE_ERR_RUNTIME';
}
