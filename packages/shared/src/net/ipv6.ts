/**
 * IPv6 text parsing and RFC 5952 formatting, written here rather than taken from ipaddr.js: ipaddr.js 2.5 reads
 * the IPv4-compatible `::127.0.0.1` as the IPv4-mapped `::ffff:127.0.0.1`, and only accepts zones of [0-9a-z].
 */

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const DOTTED_TAIL = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Interface names as zones: what Linux allows in practice (IFNAMSIZ 16) and numeric indexes. */
const ZONE = /^[0-9A-Za-z_.-]{1,15}$/;

/** True if `zone` is an acceptable zone id (an interface name or index). */
export function isValidZone(zone: string): boolean {
  return ZONE.test(zone);
}

function pushGroups(groups: string[], out: number[], dottedAllowedLast: boolean): boolean {
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] as string;
    if (HEX_GROUP.test(g)) {
      out.push(Number.parseInt(g, 16));
    } else if (dottedAllowedLast && i === groups.length - 1 && DOTTED_TAIL.test(g)) {
      const b = g.split('.').map(Number) as [number, number, number, number];
      out.push(b[0] * 256 + b[1], b[2] * 256 + b[3]);
    } else {
      return false;
    }
  }
  return true;
}

/**
 * Parses IPv6 text without brackets or zone into eight 16-bit groups, or null. A dotted-quad tail
 * (`::ffff:127.0.0.1`) is accepted in strict dotted form only.
 */
export function parseIpv6(text: string): number[] | null {
  if (text.length < 2 || text.length > 45) return null;
  const dbl = text.indexOf('::');
  if (dbl === -1) {
    const out: number[] = [];
    if (!pushGroups(text.split(':'), out, true) || out.length !== 8) return null;
    return out;
  }
  if (text.indexOf('::', dbl + 1) !== -1) return null;
  const head = text.slice(0, dbl);
  const tail = text.slice(dbl + 2);
  const h: number[] = [];
  const t: number[] = [];
  if (head !== '' && !pushGroups(head.split(':'), h, false)) return null;
  if (tail !== '' && !pushGroups(tail.split(':'), t, true)) return null;
  const missing = 8 - h.length - t.length;
  if (missing < 1) return null;
  const out = h;
  for (let i = 0; i < missing; i++) out.push(0);
  for (const v of t) out.push(v);
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
