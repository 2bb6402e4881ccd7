export {
  ALLOWED_METHODS,
  compilePolicy,
  isZoneMismatch,
  validateDomainPattern,
  validatePolicy,
} from './compile-policy.js';
export { DomainMatcher } from './domain-matcher.js';
export { PolicyCompileError, type PolicyIssue } from './errors.js';
export * from './reasons.js';
export type * from './types.js';
