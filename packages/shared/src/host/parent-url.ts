/**
 * The parent proxy URL of `upstream: http://[user[:pass]@]host:port[/]` (Squid's `cache_peer ... parent` +
 * `never_direct`), parsed by hand rather than with `new URL`, which throws on a zoned IPv6 host (`[fe80::1%eth0]`)
 * in Node 20. The port is required: a parent proxy has no well-known port. Pure: the config validators use it at
 * load and the proxy builds its parent from it once per loaded config.
 */
import { normalizeHost } from './normalize-host.js';

/** A parsed parent proxy URL. */
export interface ParentUrl {
  /** Host to resolve or connect to: a normalised name, or an IP literal (IPv6 without brackets, zone kept). */
  readonly host: string;
  readonly hostKind: 'name' | 'ipv4' | 'ipv6';
  readonly port: number;
  /** The decoded user name and password when the URL has userinfo, else null. */
  readonly credentials: { readonly user: string; readonly password: string } | null;
}

export type ParentUrlResult =
  | ({ readonly ok: true } & ParentUrl)
  | { readonly ok: false; readonly reason: string };

const SCHEME = 'http://';
const PORT = /^[1-9][0-9]{0,4}$/;

function decode(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

/** Parses `url`; a failure says what is wrong without repeating the URL (it may hold a password). */
export function parseParentUrl(url: string): ParentUrlResult {
  const fail = (reason: string): ParentUrlResult => ({ ok: false, reason });
  if (url.slice(0, SCHEME.length).toLowerCase() !== SCHEME)
    return fail('only http:// parent proxies are supported');
  let rest = url.slice(SCHEME.length);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (/[/?#\\\s]/.test(rest)) return fail('a parent proxy URL has no path, query or fragment');
  let credentials: ParentUrl['credentials'] = null;
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = userinfo.indexOf(':');
    const user = decode(colon === -1 ? userinfo : userinfo.slice(0, colon));
    if (user === null) return fail('bad percent-encoding in the user name');
    const password = colon === -1 ? '' : decode(userinfo.slice(colon + 1));
    if (password === null) return fail('bad percent-encoding in the password');
    credentials = { user, password };
  }
  let hostText: string;
  let portText: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close === -1 || rest[close + 1] !== ':') return fail('expected [ipv6]:port');
    hostText = rest.slice(0, close + 1);
    portText = rest.slice(close + 2);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon === -1) return fail('the port is required (host:port)');
    hostText = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
  }
  if (!PORT.test(portText) || Number(portText) > 65535)
    return fail('the port must be 1-65535 without leading zeros');
  const n = normalizeHost(hostText);
  if (n.kind === 'invalid') return fail(`invalid host (${n.reason})`);
  const host = n.kind === 'ipv6' && n.zone !== undefined ? `${n.host}%${n.zone}` : n.host;
  return { ok: true, host, hostKind: n.kind, port: Number(portText), credentials };
}
