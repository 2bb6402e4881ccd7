/**
 * The parent proxy of `upstream: http://[user:pass@]host:port` (Squid's `cache_peer ... parent` + `never_direct`),
 * built once when a config is prepared. The URL is parsed by shared's parseParentUrl (the same parser the config
 * validator uses, so a config that loads has a usable parent). The credentials only ever leave this module as a
 * ready `Proxy-Authorization` value; logs get `redacted`.
 */
import { CuttleError, parseParentUrl } from '@cuttle/shared';
import { redactUrl } from 'proxy-chain';
import type { ParentProxy } from '../core/parent-proxy.js';

export type { ParentProxy } from '../core/parent-proxy.js';

/** An `upstream` value that cannot be used. The message never contains the password. */
export class ParentProxyError extends CuttleError {
  override readonly name = 'ParentProxyError';
  readonly code = 'CUTTLE_ERR_UPSTREAM';
}

/** Replaces the password in a parent URL. proxy-chain's `redactUrl` where `new URL` can read it, else by hand. */
export function redactParentUrl(url: string): string {
  try {
    return redactUrl(url);
  } catch {
    const at = url.lastIndexOf('@');
    const start = url.indexOf('//') + 2;
    if (at === -1 || start < 2 || at < start) return url;
    const colon = url.indexOf(':', start);
    if (colon === -1 || colon > at) return url;
    return `${url.slice(0, colon + 1)}<redacted>${url.slice(at)}`;
  }
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
