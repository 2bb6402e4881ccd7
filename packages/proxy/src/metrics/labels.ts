/**
 * Label values are bounded: a client picks the method and the host, so neither reaches a label as sent. Methods
 * outside the known set become `other`; reasons come from the closed lists (deny reasons, allow reasons, error
 * codes); hostnames are never labels.
 */
import { ALLOWED_METHODS, DENY_REASONS } from '@cuttle/shared';
import { ERROR_CODES } from '../core/errors.js';

const ALLOW_REASONS = ['allowlisted', 'ip_allowed', 'rule_allowed'] as const;
/** Reasons the traffic paths write that are neither deny reasons nor error codes. */
const OTHER_REASONS = ['client_closed'] as const;

const KNOWN_REASONS: ReadonlySet<string> = new Set([
  ...Object.keys(DENY_REASONS),
  ...Object.keys(ERROR_CODES),
  ...ALLOW_REASONS,
  ...OTHER_REASONS,
]);

/** The method as a label: one of the methods cuttle knows, `none` for an unparsed request, else `other`. */
export function methodLabel(method: string): string {
  if (ALLOWED_METHODS.has(method)) return method;
  return method === '-' ? 'none' : 'other';
}

/** The reason as a label: a known reason, else `other`. */
export function reasonLabel(reason: string): string {
  return KNOWN_REASONS.has(reason) ? reason : 'other';
}
