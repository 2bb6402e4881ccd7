/**
 * Errors of the pure layer that callers switch on by `code`: a config that cannot be used (`CUTTLE_ERR_CONFIG`) and
 * a squid.conf that cannot be imported (`CUTTLE_ERR_SQUID_IMPORT`). Each carries every issue found, not only the
 * first, each already located (file:line:col and key for configs, file:line for squid.conf).
 */

/**
 * The base of every error cuttle raises on purpose (both CLIs, the daemon, the pure layer): a `name`, a stable
 * `code` (`CUTTLE_ERR_*`, every one listed in docs/errors.md) that callers switch on, never the message, and the
 * underlying `cause` when there is one (`new XError(message, { cause })`).
 */
export abstract class CuttleError extends Error {
  abstract override readonly name: string;
  abstract readonly code: `CUTTLE_ERR_${string}`;
}

/** One problem in a config file, located by line and column (1-based) and its dotted key (`timeouts.header_ms`). */
export interface ConfigIssue {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Dotted key path with indexes in brackets (`allow[3]`, `rules[0].action`); '' for the document itself. */
  readonly key: string;
  readonly message: string;
}

/** `FILE:LINE:COL: KEY: message` (the key part is left out for the document itself). */
export function formatConfigIssue(i: ConfigIssue): string {
  return `${i.file}:${i.line}:${i.col}: ${i.key === '' ? '' : `${i.key}: `}${i.message}`;
}

/** A config file that cannot be used. `message` holds one formatted issue per line. */
export class ConfigError extends CuttleError {
  override readonly name = 'ConfigError';
  readonly code = 'CUTTLE_ERR_CONFIG';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    super(issues.map(formatConfigIssue).join('\n'), options);
    this.issues = issues;
  }
}

/** One problem in a squid.conf (or a hosts file it names), located by its 1-based line. */
export interface SquidIssue {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** `FILE:LINE: message`. */
export function formatSquidIssue(i: SquidIssue): string {
  return `${i.file}:${i.line}: ${i.message}`;
}

/** A squid.conf that cannot be imported exactly: an unsupported directive, ACL type or option, an undefined ACL. */
export class SquidImportError extends CuttleError {
  override readonly name = 'SquidImportError';
  readonly code = 'CUTTLE_ERR_SQUID_IMPORT';
  readonly issues: readonly SquidIssue[];

  constructor(issues: readonly SquidIssue[], options?: { cause?: unknown }) {
    super(issues.map(formatSquidIssue).join('\n'), options);
    this.issues = issues;
  }
}
