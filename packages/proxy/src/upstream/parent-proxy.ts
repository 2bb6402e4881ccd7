/**
 * The parent proxy of `upstream: http://[user:pass@]host:port` (Squid's `cache_peer ... parent` + `never_direct`).
 * Parsed here rather than with `new URL`, which throws on a zoned IPv6 host (`[fe80::1%eth0]`) in Node 20. The
 * credentials only ever leave this module as a ready `Proxy-Authorization` value; logs get `redacted`.
 */
import { normalizeHost } from '@cuttle/shared';
import { redactUrl } from 'proxy-chain';

/** A parsed parent proxy. */
export interface ParentProxy {
  /** Host to resolve or connect to: a normalised name, or an IP literal (IPv6 without brackets, zone kept). */
  readonly host: string;
  readonly hostKind: 'name' | 'ipv4' | 'ipv6';
  readonly port: number;
  /** `Basic ...` when the URL has userinfo, else null. */
  readonly authorization: string | null;
  /** The URL with the password replaced, for logs and error messages. */
  readonly redacted: string;
}

/** An `upstream` value that cannot be used. The message never contains the password. */
export class ParentProxyError extends Error {
  override readonly name = 'ParentProxyError';
  readonly code = 'CUTTLE_ERR_UPSTREAM';
}

const SCHEME = 'http://';
const PORT = /^[1-9][0-9]{0,4}$/;

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

function decodeUserinfo(part: string, what: string, redacted: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ParentProxyError(`upstream ${redacted}: bad percent-encoding in the ${what}`);
  }
}

/**
 * Parses `http://[user[:pass]@]host:port[/]`. The port is required (a parent proxy has no well-known port). Throws
 * ParentProxyError naming what is wrong, with the password redacted.
 */
export function parseParentProxy(url: string): ParentProxy {
  const redacted = redactParentUrl(url);
  function fail(why: string): never {
    throw new ParentProxyError(`upstream ${redacted}: ${why}`);
  }
  if (url.slice(0, SCHEME.length).toLowerCase() !== SCHEME) fail('only http:// parent proxies are supported');
  let rest = url.slice(SCHEME.length);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (/[/?#\\\s]/.test(rest)) fail('a parent proxy URL has no path, query or fragment');
  let authorization: string | null = null;
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = userinfo.indexOf(':');
    const user = decodeUserinfo(colon === -1 ? userinfo : userinfo.slice(0, colon), 'user name', redacted);
    const pass = colon === -1 ? '' : decodeUserinfo(userinfo.slice(colon + 1), 'password', redacted);
    authorization = `Basic ${Buffer.from(`${user}:${pass}`, 'utf8').toString('base64')}`;
  }
  let hostText: string;
  let portText: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close === -1 || rest[close + 1] !== ':') fail('expected [ipv6]:port');
    hostText = rest.slice(0, close + 1);
    portText = rest.slice(close + 2);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon === -1) fail('the port is required (host:port)');
    hostText = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
  }
  if (!PORT.test(portText) || Number(portText) > 65535)
    fail('the port must be 1-65535 without leading zeros');
  const n = normalizeHost(hostText);
  if (n.kind === 'invalid') fail(`invalid host (${n.reason})`);
  const host = n.kind === 'ipv6' && n.zone !== undefined ? `${n.host}%${n.zone}` : n.host;
  return { host, hostKind: n.kind, port: Number(portText), authorization, redacted };
}

const PARENTS = new WeakMap<object, ParentProxy | ParentProxyError>();

/**
 * The parent proxy of a config (`upstream`), parsed once per config object; null when there is none. Throws the
 * ParentProxyError of an unusable `upstream` on every call (the traffic paths answer 502).
 */
export function parentProxyOf(config: { readonly upstream: string | null }): ParentProxy | null {
  if (config.upstream === null) return null;
  let parent = PARENTS.get(config);
  if (parent === undefined) {
    try {
      parent = parseParentProxy(config.upstream);
    } catch (err) {
      parent = err instanceof ParentProxyError ? err : new ParentProxyError(String(err));
    }
    PARENTS.set(config, parent);
  }
  if (parent instanceof ParentProxyError) throw parent;
  return parent;
}
