/**
 * config -> ProxyContext for the daemon: the traffic paths' context (create-context.ts) with report mode applied
 * to the policy, the per-container grants of the identity map, and name resolutions timed into the DNS latency
 * histogram.
 */
import type { Config } from '@cuttle/shared';
import type { AccessRecord, ProxyContext, ProxyInstance } from '../core/context.js';
import { EMPTY_IDENTITY, type IdentityMap, withContainerGrants } from '../identity/index.js';
import type { ProxyMetrics } from '../metrics/index.js';
import { compileReportingPolicy, usesReportMode } from '../report/report-policy.js';
import { createContext } from './create-context.js';

/** A frozen context for `config`; `record` goes to the access sink of the moment. */
export function buildContext(
  config: Config,
  record: (entry: AccessRecord) => void,
  instance: ProxyInstance,
  metrics: ProxyMetrics | null,
  identity: () => IdentityMap = () => EMPTY_IDENTITY,
): ProxyContext {
  const base = createContext(config, record, instance);
  const reporting = usesReportMode(config) ? compileReportingPolicy(config) : base.policy;
  const policy = withContainerGrants(reporting, config, identity);
  if (metrics === null && policy === base.policy) return base;
  const resolveBase = base.resolve;
  const resolve: ProxyContext['resolve'] =
    metrics === null
      ? resolveBase
      : async (host, hostKind) => {
          // IP literals only pass the guard: timing them would only dilute the lookup latencies.
          if (hostKind !== 'name') return resolveBase(host, hostKind);
          const start = process.hrtime.bigint();
          const seconds = (): number => Number(process.hrtime.bigint() - start) / 1e9;
          try {
            const r = await resolveBase(host, hostKind);
            metrics.observeDnsLookup(seconds(), r.ok ? 'ok' : r.code);
            return r;
          } catch (err) {
            metrics.observeDnsLookup(seconds(), 'dns_failure');
            throw err;
          }
        };
  return Object.freeze({ ...base, policy, resolve });
}
