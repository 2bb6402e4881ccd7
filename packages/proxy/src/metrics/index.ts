export { methodLabel, reasonLabel } from './labels.js';
export { type DnsResult, ProxyMetrics } from './proxy-metrics.js';
export { watchUpstreamConnects } from './upstream-connect.js';
