/**
 * IPv6 text parsing and RFC 5952 formatting, written here rather than taken from ipaddr.js: ipaddr.js 2.5 reads
 * the IPv4-compatible `::127.0.0.1` as the IPv4-mapped `::ffff:127.0.0.1`, and only accepts zones of [0-9a-z].
 */

/** Interface names as zones: what Linux allows in practice (IFNAMSIZ 16) and numeric indexes. */
const ZONE = /^[0-9A-Za-z_.-]{1,15}$/;

/** True if `zone` is an acceptable zone id (an interface name or index). */
export function isValidZone(zone: string): boolean {
  return ZONE.test(zone);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x57;
  return -1;
}

/** Parses a strict dotted quad at text[from..] (the whole rest); returns the 32-bit value or -1. */
function dottedTail(text: string, from: number): number {
  let value = 0;
  let octets = 0;
  let i = from;
  while (octets < 4) {
    const start = i;
    let v = 0;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
      i++;
    }
    const len = i - start;
    if (len === 0 || len > 3 || v > 255 || (len > 1 && text.charCodeAt(start) === 0x30)) return -1;
    value = value * 256 + v;
    octets++;
    if (octets < 4) {
      if (text.charCodeAt(i) !== 0x2e) return -1;
      i++;
    }
  }
  return i === text.length ? value : -1;
}

/**
 * Parses IPv6 text without brackets or zone into eight 16-bit groups, or null. A dotted-quad tail
 * (`::ffff:127.0.0.1`) is accepted in strict dotted form only. One pass over the characters: this runs for every
 * client address.
 */
export function parseIpv6(text: string): number[] | null {
  const n = text.length;
  if (n < 2 || n > 45) return null;
  const out: number[] = [];
  let gap = -1; // index in `out` where `::` stands
  let i = 0;
  if (text.charCodeAt(0) === 0x3a) {
    if (text.charCodeAt(1) !== 0x3a) return null;
    gap = 0;
    i = 2;
    if (i === n) return [0, 0, 0, 0, 0, 0, 0, 0];
  }
  for (;;) {
    if (out.length >= 8) return null;
    const start = i;
    let v = 0;
    while (i < n && i - start < 5) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      v = v * 16 + h;
      i++;
    }
    const len = i - start;
    if (i < n && text.charCodeAt(i) === 0x2e) {
      // dotted tail: must be the last thing and leave room for two groups
      if (len === 0 || out.length > 6) return null;
      const v4 = dottedTail(text, start);
      if (v4 < 0) return null;
      out.push(v4 >>> 16, v4 & 0xffff);
      break;
    }
    if (len === 0 || len > 4) return null;
    out.push(v);
    if (i === n) break;
    if (text.charCodeAt(i) !== 0x3a) return null;
    i++;
    if (i < n && text.charCodeAt(i) === 0x3a) {
      if (gap !== -1) return null;
      gap = out.length;
      i++;
      if (i === n) break;
    } else if (i === n) {
      return null; // trailing single colon
    }
  }
  if (gap === -1) return out.length === 8 ? out : null;
  const missing = 8 - out.length;
  if (missing < 1) return null;
  const zeros: number[] = [];
  for (let k = 0; k < missing; k++) zeros.push(0);
  out.splice(gap, 0, ...zeros);
  return out;
}

/** True for ::ffff:0:0/96 (IPv4-mapped). */
export function isIpv4Mapped(parts: readonly number[]): boolean {
  return (
    parts[0] === 0 &&
    parts[1] === 0 &&
    parts[2] === 0 &&
    parts[3] === 0 &&
    parts[4] === 0 &&
    parts[5] === 0xffff
  );
}

/** The last 32 bits as an unsigned number (the embedded IPv4 of mapped, compatible and NAT64 addresses). */
export function low32(parts: readonly number[]): number {
  return ((parts[6] as number) * 65536 + (parts[7] as number)) >>> 0;
}

/**
 * RFC 5952 text: lowercase, no leading zeros, the longest run (two or more) of zero groups as `::`, and the
 * IPv4-mapped form as `::ffff:a.b.c.d` (RFC 5952 section 5).
 */
export function formatIpv6(parts: readonly number[]): string {
  if (isIpv4Mapped(parts)) {
    const v = low32(parts);
    return `::ffff:${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (parts[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && parts[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = parts.map((p) => p.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
