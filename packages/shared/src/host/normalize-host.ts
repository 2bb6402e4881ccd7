/**
 * Host normalisation: the one place a destination host becomes either a canonical name, a canonical IP literal or
 * `invalid`. Every matcher works on its output only. Decisions are documented in docs/policy.md.
 */
import { domainToASCII, domainToUnicode } from 'node:url';
import {
  formatIpv4,
  formatIpv6,
  type IpAddress,
  isValidZone,
  parseIpv4Literal,
  parseIpv6,
} from '../net/index.js';
import { parseDottedQuadAt } from '../net/ipv4.js';
import { isFormattedIpv6 } from '../net/ipv6.js';

/** Why a host was refused; shown in `cuttle check` and logs next to reason `invalid_host`. */
export type InvalidHostReason =
  | 'empty'
  | 'too_long'
  | 'empty_label'
  | 'label_too_long'
  | 'bad_character'
  | 'percent_encoded'
  | 'userinfo'
  | 'idna'
  | 'bad_ip_literal'
  | 'bad_ipv6'
  | 'bad_zone';

/** A normalised host: a lowercase ASCII name without trailing dot, a canonical IP literal, or invalid. */
export type NormalizedHost =
  | { readonly kind: 'name'; readonly host: string }
  | { readonly kind: 'ipv4'; readonly host: string; readonly address: IpAddress }
  | {
      readonly kind: 'ipv6';
      readonly host: string;
      readonly address: IpAddress;
      readonly zone?: string | undefined;
    }
  | { readonly kind: 'invalid'; readonly reason: InvalidHostReason };

/** Longest input looked at; anything longer cannot become a 253-octet name even through IDNA. */
const MAX_RAW_LENGTH = 1024;
const MAX_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
/** WHATWG "ends in a number": a last label of digits or 0x-hex makes the whole host an IPv4 literal or invalid. */
const NUMERIC_LABEL = /^(?:[0-9]+|0x[0-9a-f]*)$/;

const INVALID: Record<InvalidHostReason, NormalizedHost> = Object.fromEntries(
  (
    [
      'empty',
      'too_long',
      'empty_label',
      'label_too_long',
      'bad_character',
      'percent_encoded',
      'userinfo',
      'idna',
      'bad_ip_literal',
      'bad_ipv6',
      'bad_zone',
    ] as const
  ).map((reason) => [reason, Object.freeze({ kind: 'invalid', reason })]),
) as Record<InvalidHostReason, NormalizedHost>;

function normalizeIpv6(inner: string): NormalizedHost {
  let text = inner;
  let zone: string | undefined;
  const pct = inner.indexOf('%');
  if (pct !== -1) {
    zone = inner.slice(pct + 1);
    // RFC 6874: in a URI the zone separator is written %25 (always read so: `%25` alone is an empty zone); a bare
    // % is what sockets print.
    if (zone.startsWith('25')) zone = zone.slice(2);
    if (!isValidZone(zone)) return INVALID.bad_zone;
    text = inner.slice(0, pct);
  }
  const parts = parseIpv6(text);
  if (parts === null) return INVALID.bad_ipv6;
  // Already canonical (the common case): the text is the host, no new string.
  const host = isFormattedIpv6(text, parts) ? text : formatIpv6(parts);
  return zone === undefined
    ? { kind: 'ipv6', host, address: { kind: 'ipv6', parts } }
    : { kind: 'ipv6', host, zone, address: { kind: 'ipv6', parts, zone } };
}

/** Checks an ASCII lowercase candidate name label by label; returns it as a name, an IPv4 literal or invalid. */
function checkAsciiName(input: string): NormalizedHost {
  const s = input.charCodeAt(input.length - 1) === 0x2e ? input.slice(0, -1) : input;
  if (s.length === 0) return INVALID.empty;
  if (s.length > MAX_NAME_LENGTH) return INVALID.too_long;
  let labelStart = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i === s.length ? 0x2e : s.charCodeAt(i);
    if (c === 0x2e) {
      const len = i - labelStart;
      if (len === 0) return INVALID.empty_label;
      if (len > MAX_LABEL_LENGTH) return INVALID.label_too_long;
      if (i < s.length) labelStart = i + 1;
      continue;
    }
    const ok =
      (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f; /* a-z 0-9 - _ */
    if (!ok) return c === 0x25 ? INVALID.percent_encoded : INVALID.bad_character;
  }
  const first = s.charCodeAt(labelStart);
  if (first >= 0x30 && first <= 0x39 && NUMERIC_LABEL.test(s.slice(labelStart))) {
    const value = parseIpv4Literal(s);
    if (value === null) return INVALID.bad_ip_literal;
    return { kind: 'ipv4', host: formatIpv4(value), address: { kind: 'ipv4', value } };
  }
  return { kind: 'name', host: s };
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * True if every `xn--` label of an ASCII name is Punycode for a non-ASCII label that encodes back to itself.
 * Node 20 refuses `xn--zz` in domainToASCII, Node 24 passes it through unchanged: this makes both refuse it.
 */
function hasValidAceLabels(name: string): boolean {
  const unicode = domainToUnicode(name);
  if (unicode === '' || domainToASCII(unicode) !== name) return false;
  const ace = name.split('.');
  const uni = unicode.split('.');
  if (ace.length !== uni.length) return false;
  for (let i = 0; i < ace.length; i++) {
    if ((ace[i] as string).startsWith('xn--') && isAscii(uni[i] as string)) return false;
  }
  return true;
}

/**
 * True when `raw` is already what normalizeHost makes of a name: lowercase LDH-or-underscore labels of 1-63
 * octets, 253 octets at most, no trailing dot, no `xn--`, a last label that does not start with a digit. Then
 * normalizeHost(raw) is `{ kind: 'name', host: raw }`, and a caller on the hot path can skip building it (the
 * common case: clients send names as they are listed). False says nothing: call normalizeHost.
 */
export function isNormalName(raw: string): boolean {
  const len = raw.length;
  if (len === 0 || len > MAX_NAME_LENGTH) return false;
  let labelStart = 0;
  for (let i = 0; i < len; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x2e) {
      if (i === labelStart || i - labelStart > MAX_LABEL_LENGTH) return false;
      labelStart = i + 1;
    } else if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f)) {
      return false;
    }
  }
  if (labelStart === len || len - labelStart > MAX_LABEL_LENGTH) return false;
  const first = raw.charCodeAt(labelStart);
  if (first >= 0x30 && first <= 0x39) return false;
  return !raw.includes('xn--');
}

/**
 * Normalises a destination host as received (URL host or CONNECT host, brackets allowed): lowercase, IDNA to
 * ASCII (UTS 46, only when non-ASCII or `xn--` is present), one trailing dot stripped, LDH plus underscore labels
 * of 1-63 octets, 253 octets at most. IPv4 literals in every inet_aton form and IPv6 literals (zone `%eth0` or
 * `%25eth0`) come back as canonical text. Pure: no DNS.
 */
export function normalizeHost(raw: string): NormalizedHost {
  const len = raw.length;
  if (len === 0) return INVALID.empty;
  if (len > MAX_RAW_LENGTH) return INVALID.too_long;
  const first = raw.charCodeAt(0);
  if (first >= 0x30 && first <= 0x39) {
    // A dotted quad without leading zeros is already canonical (what every other form is made into below): the
    // text is the host, and nothing is split, matched or formatted.
    const quad = parseDottedQuadAt(raw, 0);
    if (quad !== -1) return { kind: 'ipv4', host: raw, address: { kind: 'ipv4', value: quad } };
  }
  if (first === 0x5b) {
    return raw.charCodeAt(len - 1) === 0x5d ? normalizeIpv6(raw.slice(1, -1)) : INVALID.bad_ipv6;
  }
  if (raw.indexOf(':') !== -1) return normalizeIpv6(raw);
  let ascii = true;
  let upper = false;
  for (let i = 0; i < len; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 0x80) {
      ascii = false;
    } else if (c >= 0x41 && c <= 0x5a) {
      upper = true;
    } else if (
      !((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f)
    ) {
      if (c === 0x25) return INVALID.percent_encoded;
      if (c === 0x40) return INVALID.userinfo;
      return INVALID.bad_character;
    }
  }
  let s = upper ? raw.toLowerCase() : raw;
  if (!ascii || s.includes('xn--')) {
    // domainToASCII runs the whole WHATWG host parser: it percent-decodes, ends the host at `/` or `\` and reads
    // IPv4 forms. Every ASCII delimiter was refused above, and its output is checked again like any ASCII name.
    s = domainToASCII(s);
    if (s === '' || (s.includes('xn--') && !hasValidAceLabels(s))) return INVALID.idna;
  }
  return checkAsciiName(s);
}
