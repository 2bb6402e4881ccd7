/**
 * prepared config -> ProxyContext for the daemon: the traffic paths' context (create-context.ts) with the identity map of the
 * moment answering `identify`, and name resolutions timed into the DNS latency histogram.
 */
import type { AccessRecord, ProxyContext, ProxyInstance } from '../core/context.js';
import { EMPTY_IDENTITY, type IdentityMap } from '../identity/index.js';
import type { ProxyMetrics } from '../metrics/index.js';
import { createContext } from './create-context.js';
import type { PreparedConfig } from './prepare.js';

/** A frozen context for a prepared config; `record` goes to the access sink of the moment. */
export function buildContext(
  prepared: PreparedConfig,
  record: (entry: AccessRecord) => void,
  instance: ProxyInstance,
  metrics: ProxyMetrics | null,
  identity: () => IdentityMap = () => EMPTY_IDENTITY,
): ProxyContext {
  const base = createContext(prepared, record, instance, identity);
  if (metrics === null) return base;
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
  const nowBase = base.resolveNow;
  const resolveNow: ProxyContext['resolveNow'] =
    nowBase === undefined
      ? undefined
      : (host, hostKind) => {
          const r = nowBase(host, hostKind);
          // Known at once (dns.hosts, cache): a lookup of no measurable duration, counted as the async path does.
          if (r !== undefined && hostKind === 'name') metrics.observeDnsLookup(0, r.ok ? 'ok' : r.code);
          return r;
        };
  return Object.freeze(resolveNow === undefined ? { ...base, resolve } : { ...base, resolve, resolveNow });
}
