export { type InvalidHostReason, type NormalizedHost, normalizeHost } from './normalize-host.js';
export {
  type ProxyTarget,
  type ProxyTargetError,
  type ProxyTargetOptions,
  type ProxyTargetResult,
  parseProxyTarget,
} from './proxy-target.js';
