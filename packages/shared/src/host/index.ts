export { DomainMatcher } from './domain-matcher.js';
export {
  type InvalidHostReason,
  isNormalName,
  type NormalizedHost,
  normalizeHost,
} from './normalize-host.js';
export { type ParentUrl, type ParentUrlResult, parseParentUrl } from './parent-url.js';
export {
  type ProxyTarget,
  type ProxyTargetError,
  type ProxyTargetOptions,
  type ProxyTargetResult,
  parseProxyTarget,
} from './proxy-target.js';
