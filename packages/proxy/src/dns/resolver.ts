/**
 * The checked resolver behind `ProxyContext.resolve`. A name is resolved once per TTL and every answer is checked
 * before anyone may connect to it; the traffic paths connect only to the addresses returned here.
 *
 *   IP literal ---------------------------------------------> guard --> result
 *   name --> dns.hosts (static) ----------------------------> guard --> result
 *        \-> cache hit? --------------------------------------------> result
 *        \-> resolve4 + resolve6 (TTLs) --no answer--> lookup(all) --> guard --> cache(min TTL, max_ttl_s)
 *
 * `lookup` (getaddrinfo: /etc/hosts, nsswitch) is the fallback only with the system configuration: names such as
 * `localhost` live in /etc/hosts, which c-ares' resolve4 does not read in every setup. Its answers carry no TTL and
 * are cached for LOOKUP_TTL_S (capped by max_ttl_s). With `dns.servers` set only those servers are asked.
 */
import { promises as dnsp } from 'node:dns';
import { AddressRangeSet, type Config, type Decision } from '@cuttle/shared';
import type { ResolveResult } from '../core/context.js';
import { checkAnswers } from './check-answers.js';
import { TtlCache } from './ttl-cache.js';

/** TTL given to getaddrinfo answers, which carry none, seconds. */
export const LOOKUP_TTL_S = 30;
const CACHE_ENTRIES = 10_000;
/** resolve4/resolve6 errors meaning "this name has no such records": try the other family or the fallback. */
const NO_ANSWER = new Set([
  'ENODATA',
  'ENOTFOUND',
  'ENONAME',
  'ENOTIMP',
  'EREFUSED',
  'ESERVFAIL',
  'ECONNREFUSED',
]);

type Resolve = (host: string, hostKind: Decision['hostKind']) => Promise<ResolveResult>;

interface Answers {
  addresses: string[];
  ttlS: number;
}

function timeoutAfter(ms: number): { promise: Promise<'timeout'>; clear: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
    timer.unref();
  });
  return { promise, clear: () => clearTimeout(timer) };
}

/** Builds the resolver for one config. Static hosts and ranges are prepared here, once. */
export function createResolver(config: Config): Resolve & {
  /** The answer when it is known without waiting (IP literal, `dns.hosts`, cache), else undefined. */
  now(host: string, hostKind: Decision['hostKind']): ResolveResult | undefined;
} {
  const allowRanges = AddressRangeSet.parse(config.destinations.allow_ranges);
  // Static answers are checked once, here: the result objects are reused for every request.
  const staticHosts = new Map<string, ResolveResult>();
  for (const [name, addrs] of Object.entries(config.dns.hosts)) {
    staticHosts.set(name.toLowerCase().replace(/\.$/, ''), checkAnswers(addrs, allowRanges));
  }
  const timeoutMs = config.timeouts.dns_ms;
  const maxTtlS = config.dns.max_ttl_s;
  const useSystem = config.dns.servers.length === 0;
  const resolver = new dnsp.Resolver({ timeout: timeoutMs, tries: 1 });
  if (!useSystem) resolver.setServers(config.dns.servers);
  const cache = new TtlCache<ResolveResult>(CACHE_ENTRIES);
  const pending = new Map<string, Promise<ResolveResult>>();

  async function ask(name: string): Promise<Answers | null> {
    const [v4, v6] = await Promise.allSettled([
      resolver.resolve4(name, { ttl: true }),
      resolver.resolve6(name, { ttl: true }),
    ]);
    const addresses: string[] = [];
    let ttlS = maxTtlS;
    let hardError: unknown = null;
    for (const r of [v4, v6]) {
      if (r.status === 'fulfilled') {
        for (const a of r.value) {
          addresses.push(a.address);
          ttlS = Math.min(ttlS, a.ttl);
        }
      } else if (!NO_ANSWER.has((r.reason as { code?: string }).code ?? '')) {
        hardError = r.reason;
      }
    }
    if (addresses.length > 0) return { addresses, ttlS };
    if (useSystem) {
      try {
        const found = await dnsp.lookup(name, { all: true, verbatim: true });
        if (found.length > 0)
          return { addresses: found.map((f) => f.address), ttlS: Math.min(maxTtlS, LOOKUP_TTL_S) };
      } catch {
        // fall through: no answer
      }
    }
    if (hardError !== null) throw hardError;
    return null;
  }

  async function resolveName(name: string): Promise<ResolveResult> {
    const timer = timeoutAfter(timeoutMs);
    try {
      const answers = await Promise.race([ask(name), timer.promise]);
      if (answers === 'timeout')
        return { ok: false, code: 'dns_timeout', message: `no answer within ${timeoutMs} ms` };
      if (answers === null) return { ok: false, code: 'dns_failure', message: 'no such name' };
      const result = checkAnswers(answers.addresses, allowRanges);
      if (answers.ttlS > 0) cache.set(name, result, performance.now() + answers.ttlS * 1000);
      return result;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ETIMEOUT')
        return { ok: false, code: 'dns_timeout', message: `no answer within ${timeoutMs} ms` };
      return { ok: false, code: 'dns_failure', message: code ?? 'resolver error' };
    } finally {
      timer.clear();
    }
  }

  // IP literals: checked once per literal and kept (a small map; a client rarely uses many literals).
  const literals = new Map<string, ResolveResult>();
  const now = (host: string, hostKind: Decision['hostKind']): ResolveResult | undefined => {
    if (hostKind === 'ipv4' || hostKind === 'ipv6') {
      let r = literals.get(host);
      if (r === undefined) {
        r = checkAnswers([host], allowRanges);
        if (literals.size >= CACHE_ENTRIES) literals.clear();
        literals.set(host, r);
      }
      return r;
    }
    return staticHosts.get(host) ?? cache.get(host, performance.now());
  };
  const resolve = ((host, hostKind) => {
    const known = now(host, hostKind);
    if (known !== undefined) return Promise.resolve(known);
    // One resolution in flight per name: concurrent requests share it.
    let inflight = pending.get(host);
    if (inflight === undefined) {
      inflight = resolveName(host).finally(() => pending.delete(host));
      pending.set(host, inflight);
    }
    return inflight;
  }) as Resolve & { now: typeof now };
  resolve.now = now;
  return resolve;
}
