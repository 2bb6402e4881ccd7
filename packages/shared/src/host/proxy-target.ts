/**
 * The request target of a proxy request, parsed strictly (RFC 9112 section 3.2): absolute-form `http://host[:port]/path`
 * for every method but CONNECT, authority-form `host:port` for CONNECT. WHATWG `new URL` is not used: it turns
 * `\` into `/`, percent-decodes hosts and accepts userinfo, each a way to make the proxy and the origin disagree.
 *
 *   target --(scheme, delimiters, userinfo, port)--> { host (as written, brackets removed), port, path }
 *          --> policy.decide() normalises host
 */

/** The parsed target. `host` is as written (brackets removed, zone kept); `decide` normalises it. */
export interface ProxyTarget {
  readonly host: string;
  readonly port: number;
  /** Path and query for absolute-form (`/` when empty); '' for CONNECT. */
  readonly path: string;
  /** `https` for an accepted `https://` absolute-form target (see `allowHttps`); absent: http (or CONNECT). */
  readonly scheme?: 'https' | undefined;
}

/** A target the proxy refuses with 400. `detail` says why, for the log and `cuttle check`. */
export interface ProxyTargetError {
  readonly code: 'bad_target';
  readonly detail: string;
}

export type ProxyTargetResult =
  | ({ readonly ok: true } & ProxyTarget)
  | ({ readonly ok: false } & ProxyTargetError);

const PORT = /^[1-9][0-9]{0,4}$/;
const IPV6_BRACKETED_BODY = /^[0-9A-Fa-f:.]+(?:%[0-9A-Za-z_.-]+)?$/;
const HTTP_PREFIX = 'http://';
const HTTPS_PREFIX = 'https://';

const fail = (detail: string): ProxyTargetResult => ({ ok: false, code: 'bad_target', detail });

/** Options of `parseProxyTarget`. */
export interface ProxyTargetOptions {
  /**
   * Accept non-ASCII characters (a Unicode host for IDNA), as a human types them into `cuttle check`. Off for the
   * wire: RFC 9112 targets are ASCII, and Node hands request lines over as latin1, so UTF-8 would be misread.
   */
  readonly allowNonAscii?: boolean | undefined;
  /**
   * Accept `https://host[:port]/path` absolute-form (default port 443), for a proxy that originates the TLS itself
   * (`forward.https_absolute_form`). Off: such a target is `bad_target` ("use CONNECT").
   */
  readonly allowHttps?: boolean | undefined;
}

/** Characters never allowed anywhere in a target: controls, space, DEL, backslash, fragment (and non-ASCII). */
function firstForbidden(target: string, allowNonAscii: boolean): string | null {
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return 'control character or space';
    if (c > 0x7f && !allowNonAscii) return 'non-ASCII character';
    if (c === 0x5c) return 'backslash';
    if (c === 0x23) return 'fragment';
  }
  return null;
}

function parseAuthority(authority: string, defaultPort: number | null): ProxyTargetResult {
  if (authority.length === 0) return fail('empty authority');
  if (authority.indexOf('@') !== -1) return fail('userinfo in authority');
  let host: string;
  let portText: string | null;
  if (authority.charCodeAt(0) === 0x5b) {
    const close = authority.indexOf(']');
    if (close === -1) return fail('unclosed IPv6 bracket');
    host = authority.slice(1, close);
    if (!IPV6_BRACKETED_BODY.test(host)) return fail('bad IPv6 literal');
    const rest = authority.slice(close + 1);
    if (rest === '') portText = null;
    else if (rest.charCodeAt(0) === 0x3a) portText = rest.slice(1);
    else return fail('junk after IPv6 literal');
  } else {
    const colon = authority.indexOf(':');
    if (colon !== -1 && authority.indexOf(':', colon + 1) !== -1)
      return fail('IPv6 literal without brackets');
    host = colon === -1 ? authority : authority.slice(0, colon);
    portText = colon === -1 ? null : authority.slice(colon + 1);
    if (host.length === 0) return fail('empty host');
    for (let i = 0; i < host.length; i++) {
      const c = host.charCodeAt(i);
      // Delimiters and percent-encoding never belong in a reg-name host here.
      if (
        c === 0x25 ||
        c === 0x5b ||
        c === 0x5d ||
        c === 0x2f ||
        c === 0x3f ||
        c === 0x22 ||
        c === 0x3c ||
        c === 0x3e
      )
        return fail(c === 0x25 ? 'percent-encoded host' : 'delimiter in host');
    }
  }
  let port: number;
  if (portText === null) {
    if (defaultPort === null) return fail('port required');
    port = defaultPort;
  } else {
    if (!PORT.test(portText)) return fail('port not canonical (1-65535, no leading zeros)');
    port = Number(portText);
    if (port > 65535) return fail('port out of range');
  }
  return { ok: true, host, port, path: '' };
}

/**
 * Parses a request target for `method`. CONNECT takes exactly `host:port` (bracketed IPv6, port required); other
 * methods take `http://host[:port][/path][?query]`, and `https://` likewise (default port 443) only with
 * `options.allowHttps`; refused are origin-form, fragments, userinfo, backslashes, percent-encoded
 * hosts, non-canonical ports and (unless `options.allowNonAscii`) non-ASCII characters.
 */
export function parseProxyTarget(
  method: string,
  target: string,
  options?: ProxyTargetOptions,
): ProxyTargetResult {
  if (target.length === 0) return fail('empty target');
  if (target.length > 8192) return fail('target too long');
  const bad = firstForbidden(target, options?.allowNonAscii === true);
  if (bad !== null) return fail(bad);
  if (method === 'CONNECT') {
    for (let i = 0; i < target.length; i++) {
      const c = target.charCodeAt(i);
      if (c === 0x2f || c === 0x3f) return fail('CONNECT target must be host:port');
    }
    return parseAuthority(target, null);
  }
  let scheme: 'http' | 'https';
  if (target.slice(0, HTTP_PREFIX.length).toLowerCase() === HTTP_PREFIX) scheme = 'http';
  else if (target.slice(0, HTTPS_PREFIX.length).toLowerCase() === HTTPS_PREFIX) {
    if (options?.allowHttps !== true) return fail('https absolute-form: use CONNECT');
    scheme = 'https';
  } else {
    return fail(
      target.charCodeAt(0) === 0x2f ? 'origin-form: a proxy needs absolute-form' : 'scheme not http',
    );
  }
  const rest = target.slice(scheme === 'http' ? HTTP_PREFIX.length : HTTPS_PREFIX.length);
  let end = rest.length;
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    if (c === 0x2f || c === 0x3f) {
      end = i;
      break;
    }
  }
  const auth = parseAuthority(rest.slice(0, end), scheme === 'http' ? 80 : 443);
  if (!auth.ok) return auth;
  const tail = rest.slice(end);
  const path = tail === '' ? '/' : tail.charCodeAt(0) === 0x3f ? `/${tail}` : tail;
  return scheme === 'https'
    ? { ok: true, host: auth.host, port: auth.port, path, scheme }
    : { ok: true, host: auth.host, port: auth.port, path };
}
