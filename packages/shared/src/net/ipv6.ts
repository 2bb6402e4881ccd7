/**
 * IPv6 text parsing and RFC 5952 formatting, written here rather than taken from ipaddr.js: ipaddr.js 2.5 reads
 * the IPv4-compatible `::127.0.0.1` as the IPv4-mapped `::ffff:127.0.0.1`, and only accepts zones of [0-9a-z].
 */

import { parseDottedQuadAt } from './ipv4.js';

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

/**
 * Parses IPv6 text without brackets or zone into eight 16-bit groups, or null. A dotted-quad tail
 * (`::ffff:127.0.0.1`) is accepted in strict dotted form only. One pass over the characters: this runs for every
 * client address.
 */
export function parseIpv6(text: string): number[] | null {
  const n = text.length;
  if (n < 2 || n > 45) return null;
  // Eight groups from the start, filled in place (one allocation of the size it ends at: this runs per request).
  const out: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
  let count = 0; // groups read
  let gap = -1; // index in `out` where `::` stands
  let i = 0;
  if (text.charCodeAt(0) === 0x3a) {
    if (text.charCodeAt(1) !== 0x3a) return null;
    gap = 0;
    i = 2;
    if (i === n) return out;
  }
  for (;;) {
    if (count >= 8) return null;
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
      if (len === 0 || count > 6) return null;
      const v4 = parseDottedQuadAt(text, start);
      if (v4 < 0) return null;
      out[count++] = v4 >>> 16;
      out[count++] = v4 & 0xffff;
      break;
    }
    if (len === 0 || len > 4) return null;
    out[count++] = v;
    if (i === n) break;
    if (text.charCodeAt(i) !== 0x3a) return null;
    i++;
    if (i < n && text.charCodeAt(i) === 0x3a) {
      if (gap !== -1) return null;
      gap = count;
      i++;
      if (i === n) break;
    } else if (i === n) {
      return null; // trailing single colon
    }
  }
  if (gap === -1) return count === 8 ? out : null;
  const missing = 8 - count;
  if (missing < 1) return null;
  // The groups after `::` move right by `missing`, zeros fill the gap.
  for (let k = 7; k >= gap + missing; k--) out[k] = out[k - missing] as number;
  for (let k = gap; k < gap + missing; k++) out[k] = 0;
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

/** Where RFC 5952's `::` stands: the start of the first longest run of two or more zero groups, or -1. */
function zeroRunStart(parts: readonly number[]): number {
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
  return bestStart;
}

/** How many zero groups run from `start`. */
function zeroRunLength(parts: readonly number[], start: number): number {
  let j = start;
  while (j < 8 && parts[j] === 0) j++;
  return j - start;
}

/**
 * True when `text` is exactly what formatIpv6(parts) gives, found without building that text: most IPv6 literals
 * arrive already canonical, and then the text itself serves as the canonical host (formatting allocated ~0.9 KB
 * per literal, bench/README.md "Allowlist flatness").
 */
export function isFormattedIpv6(text: string, parts: readonly number[]): boolean {
  if (isIpv4Mapped(parts)) return false;
  const zeroStart = zeroRunStart(parts);
  const zeroLen = zeroStart === -1 ? 0 : zeroRunLength(parts, zeroStart);
  let at = 0;
  for (let g = 0; g < 8; g++) {
    if (g === zeroStart) {
      if (text.charCodeAt(at) !== 0x3a || text.charCodeAt(at + 1) !== 0x3a) return false;
      at += 2;
      g += zeroLen - 1;
      continue;
    }
    if (g > 0 && g !== zeroStart + zeroLen) {
      if (text.charCodeAt(at) !== 0x3a) return false;
      at++;
    }
    const v = parts[g] as number;
    let shift = v >= 0x1000 ? 12 : v >= 0x100 ? 8 : v >= 0x10 ? 4 : 0;
    for (; shift >= 0; shift -= 4) {
      const d = (v >>> shift) & 15;
      if (text.charCodeAt(at) !== (d < 10 ? 0x30 + d : 0x57 + d)) return false;
      at++;
    }
  }
  return at === text.length;
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
  const bestStart = zeroRunStart(parts);
  const hex = parts.map((p) => p.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + zeroRunLength(parts, bestStart)).join(':')}`;
}
