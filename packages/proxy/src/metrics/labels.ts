/**
 * Label values are bounded: a client picks the method and the host, so neither reaches a label as sent. Methods
 * outside the known set become `other`; reasons come from the closed lists (deny reasons, allow reasons, error
 * codes); hostnames are never labels.
 */
import { ALLOWED_METHODS } from '@cuttle/shared';
import { ALLOW_REASONS, CLOSE_REASONS, DENY_REASONS, ERROR_CODES } from '../core/outcomes.js';

const KNOWN_REASONS: ReadonlySet<string> = new Set([
  ...Object.keys(DENY_REASONS),
  ...Object.keys(ERROR_CODES),
  ...Object.keys(ALLOW_REASONS),
]);

const KNOWN_CLOSE_REASONS: ReadonlySet<string> = new Set(Object.keys(CLOSE_REASONS));

/** The method as a label: one of the methods cuttle knows, `none` for an unparsed request, else `other`. */
export function methodLabel(method: string): string {
  if (ALLOWED_METHODS.has(method)) return method;
  return method === '-' ? 'none' : 'other';
}

/** The reason as a label: a known reason, else `other`. */
export function reasonLabel(reason: string): string {
  return KNOWN_REASONS.has(reason) ? reason : 'other';
}

/** A close reason as a label: `none` when there is none, a known one, else `other`. */
export function closeLabel(reason: string | null): string {
  if (reason === null) return 'none';
  return KNOWN_CLOSE_REASONS.has(reason) ? reason : 'other';
}
