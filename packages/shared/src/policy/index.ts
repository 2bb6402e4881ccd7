export {
  ALLOWED_METHODS,
  compilePolicy,
  isZoneMismatch,
  validatePolicy,
} from './compile-policy.js';
export { PolicyCompileError, type PolicyIssue } from './errors.js';
export * from './reasons.js';
export type * from './types.js';
