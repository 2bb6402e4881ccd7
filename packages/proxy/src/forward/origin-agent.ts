/**
 * The keep-alive pool to origins and the one way a request reaches one: a `lookup` that hands back the addresses
 * the guard already checked, so no second resolution can happen. `autoSelectFamily` makes net try every checked
 * address in turn when one refuses (RFC 8305 style), and only those.
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';

/** A pool of connections to plain-HTTP origins (one per running instance); sockets are keyed by host and port. */
export function createOriginAgent(): http.Agent {
  return new http.Agent({
    keepAlive: true,
    keepAliveMsecs: 1000,
    maxFreeSockets: 256,
    scheduling: 'lifo',
  });
}

/** What a TLS origin agent depends on: `tls.ca_file` of the running config. */
export interface OriginTlsConfig {
  readonly ca_file: string | null;
}

const TLS_AGENTS = new WeakMap<OriginTlsConfig, https.Agent>();

/**
 * The keep-alive pool to https origins (absolute-form `https://` requests) for a config's `tls` section: the
 * system CAs plus `ca_file`, certificate and host name always verified. One agent per loaded config, so a reload
 * with another `ca_file` takes effect; the file is read on first use and an unreadable one throws.
 */
export function tlsOriginAgent(tls: OriginTlsConfig): https.Agent {
  let agent = TLS_AGENTS.get(tls);
  if (agent === undefined) {
    const ca = tls.ca_file === null ? undefined : [...rootCertificates, readFileSync(tls.ca_file, 'utf8')];
    agent = new https.Agent({
      keepAlive: true,
      keepAliveMsecs: 1000,
      maxFreeSockets: 256,
      scheduling: 'lifo',
      rejectUnauthorized: true,
      ...(ca === undefined ? {} : { ca }),
    });
    TLS_AGENTS.set(tls, agent);
  }
  return agent;
}

const familyOf = (address: string): 4 | 6 => (address.indexOf(':') === -1 ? 4 : 6);

const LOOKUPS = new WeakMap<readonly string[], LookupFunction>();

/**
 * A lookup answering only with `addresses` (already checked), whatever name net asks for. Memoised per answer
 * list: the resolver hands out the same cached list for a name until its TTL ends, so the hot path reuses it.
 */
export function fixedLookup(addresses: readonly string[]): LookupFunction {
  let fn = LOOKUPS.get(addresses);
  if (fn === undefined) {
    fn = buildLookup(addresses);
    LOOKUPS.set(addresses, fn);
  }
  return fn;
}

function buildLookup(addresses: readonly string[]): LookupFunction {
  const all = addresses.map((address) => ({ address, family: familyOf(address) }));
  const first = all[0];
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, all);
    else if (first !== undefined) callback(null, first.address, first.family);
    else callback(Object.assign(new Error('no checked address'), { code: 'ENOTFOUND' }));
  }) as unknown as LookupFunction;
}
