/**
 * IPv4 text forms. Two parsers on purpose: `parseIpv4Literal` accepts every form the system resolver's
 * inet_aton accepts (a URL host like `0x7f.1` reaches 127.0.0.1), `parseIpv4Strict` only the dotted quad used in
 * configs and resolver answers.
 */

/** One inet_aton part: hex `0x..`, octal `0..`, or decimal. `0x` with no digits is refused (glibc takes it as 0). */
const INET_ATON_PART = /^(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/;

function partValue(part: string): number {
  if (part.length > 1 && (part.charCodeAt(1) | 0x20) === 0x78) return Number.parseInt(part.slice(2), 16);
  if (part.charCodeAt(0) === 0x30) return part.length === 1 ? 0 : Number.parseInt(part, 8);
  return Number.parseInt(part, 10);
}

/**
 * Parses an IPv4 literal in any inet_aton form: `127.0.0.1`, `2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`,
 * `127.0.1`, mixed bases. The last part fills the remaining bytes. Returns the address as an unsigned 32-bit
 * number, or null.
 */
export function parseIpv4Literal(text: string): number | null {
  const parts = text.split('.');
  if (parts.length > 4) return null;
  let value = 0;
  const last = parts.length - 1;
  for (let i = 0; i <= last; i++) {
    const part = parts[i] as string;
    if (!INET_ATON_PART.test(part)) return null;
    const v = partValue(part);
    if (i < last) {
      if (v > 255) return null;
      value = value * 256 + v;
    } else {
      const bytesLeft = 4 - last;
      const limit = 2 ** (8 * bytesLeft);
      if (v >= limit) return null;
      value = value * limit + v;
    }
  }
  return value;
}

/** Parses a dotted quad without leading zeros (`10.0.0.1`), as written in configs and resolver answers. */
export function parseIpv4Strict(text: string): number | null {
  const value = parseDottedQuadAt(text, 0);
  return value === -1 ? null : value;
}

/** Formats an unsigned 32-bit number as a dotted quad. */
export function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/**
 * The value of the strict dotted quad (four decimal octets, no leading zeros: what formatIpv4 writes) that is
 * `text[from..]`, all of it, or -1. By char codes, allocating nothing.
 */
export function parseDottedQuadAt(text: string, from: number): number {
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
