/**
 * The parent proxy of `upstream: http://[user:pass@]host:port` (Squid's `cache_peer ... parent` + `never_direct`),
 * built once when a config is prepared. The URL is parsed by shared's parseParentUrl (the same parser the config
 * validator uses, so a config that loads has a usable parent). The credentials only ever leave this module as a
 * ready `Proxy-Authorization` value; logs get `redacted`.
 */
import { CuttleError, parseParentUrl } from '@cuttle/shared';
import type { ParentProxy } from '../core/parent-proxy.js';

export type { ParentProxy } from '../core/parent-proxy.js';

/** An `upstream` value that cannot be used. The message never contains the password. */
export class ParentProxyError extends CuttleError {
  override readonly name = 'ParentProxyError';
  readonly code = 'CUTTLE_ERR_UPSTREAM';
}

/**
 * Replaces the password in a parent URL (`scheme://user:<redacted>@host:port/`); a URL without one is returned as
 * it is. By hand rather than proxy-chain's `redactUrl`, which was the daemon's only use of proxy-chain and brought
 * its SOCKS client and agents into the bundle with it: cuttle.mjs 2,980,848 -> 2,761,995 bytes and 24 -> 16 inlined npm packages (no SOCKS client, agents or `debug` in the daemon; start-up time alike, 170-200 ms, within the noise). It also
 * threw on what `new URL` cannot read (zoned IPv6 hosts), where this fallback was needed anyway.
 */
export function redactParentUrl(url: string): string {
  const start = url.indexOf('//') + 2;
  const at = url.lastIndexOf('@');
  if (start < 2 || at < start) return url;
  const colon = url.indexOf(':', start);
  if (colon === -1 || colon > at) return url;
  const rest = url.slice(at);
  // The form WHATWG URL serialisation gives (and proxy-chain gave): an empty path is `/`.
  return `${url.slice(0, colon + 1)}<redacted>${rest}${rest.includes('/') ? '' : '/'}`;
}

/**
 * Parses `http://[user[:pass]@]host:port[/]`. The port is required (a parent proxy has no well-known port). Throws
 * ParentProxyError naming what is wrong, with the password redacted.
 */
export function parseParentProxy(url: string): ParentProxy {
  const redacted = redactParentUrl(url);
  const r = parseParentUrl(url);
  if (!r.ok) throw new ParentProxyError(`upstream ${redacted}: ${r.reason}`);
  const authorization =
    r.credentials === null
      ? null
      : `Basic ${Buffer.from(`${r.credentials.user}:${r.credentials.password}`, 'utf8').toString('base64')}`;
  return { host: r.host, hostKind: r.hostKind, port: r.port, authorization, redacted };
}

/** The parent proxy of a config (`upstream`), or null when there is none. Throws ParentProxyError for a bad one. */
export function parentProxyOf(config: { readonly upstream: string | null }): ParentProxy | null {
  return config.upstream === null ? null : parseParentProxy(config.upstream);
}
