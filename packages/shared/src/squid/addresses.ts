/**
 * Squid's `src`/`dst` value forms -> cuttle CIDR ranges: `all`, an address, `ADDR/BITS`, the netmask form
 * `10.0.0.0/255.0.0.0` (Squid: "assume you meant /8"), and IPv4 ranges `0.0.0.1-0.255.255.255` (split into the
 * fewest CIDR blocks). Host bits under the mask are cleared, as Squid does, with a warning.
 */
import { parseAddressRange } from '../net/cidr.js';
import { formatIpv4, parseIpv4Strict } from '../net/ipv4.js';

/** Every address, IPv4 and IPv6 (Squid's `all`). */
export const EVERY_ADDRESS: readonly string[] = ['0.0.0.0/0', '::/0'];

/** The result of one value: ranges, plus a warning when Squid's reading needed a correction. */
export type SquidAddressResult = { ranges: string[]; warning?: string } | { error: string };

/** The fewest CIDR blocks covering lo..hi (IPv4, inclusive). */
function ipv4RangeToCidrs(lo: number, hi: number): string[] {
  const out: string[] = [];
  let cur = lo;
  while (cur <= hi) {
    let bits = 32;
    // Widen the block while it stays aligned on `cur` and inside hi.
    while (bits > 0) {
      const size = 2 ** (33 - bits);
      if (cur % size !== 0 || cur + size - 1 > hi) break;
      bits--;
    }
    out.push(`${formatIpv4(cur)}/${bits}`);
    cur += 2 ** (32 - bits);
  }
  return out;
}

/** Prefix length of a contiguous dotted netmask (`255.255.0.0` -> 16), or null. */
function maskBits(mask: string): number | null {
  const m = parseIpv4Strict(mask);
  if (m === null) return null;
  for (let b = 0; b <= 32; b++) if ((b === 0 ? 0 : (0xffffffff << (32 - b)) >>> 0) === m) return b;
  return null;
}

/** Converts one `src`/`dst` value. */
export function squidAddressToRanges(value: string): SquidAddressResult {
  if (value === 'all') return { ranges: [...EVERY_ADDRESS] };
  const dash = /^([0-9.]+)-([0-9.]+)$/.exec(value);
  if (dash !== null) {
    const lo = parseIpv4Strict(dash[1] as string);
    const hi = parseIpv4Strict(dash[2] as string);
    if (lo === null || hi === null || hi < lo)
      return { error: `"${value}" is not an address range LOW-HIGH` };
    return { ranges: ipv4RangeToCidrs(lo, hi) };
  }
  let text = value;
  const nm = /^([0-9.]+)\/([0-9]+\.[0-9.]+)$/.exec(value);
  if (nm !== null) {
    const bits = maskBits(nm[2] as string);
    if (bits === null) return { error: `"${value}": ${nm[2]} is not a contiguous netmask` };
    text = `${nm[1]}/${bits}`;
  }
  try {
    parseAddressRange(text);
    return { ranges: [text] };
  } catch (err) {
    const m = /^(.*)\/([0-9]+)$/.exec(text);
    if (!(err as Error).message.includes('host bits') || m === null) return { error: (err as Error).message };
    // Squid masks the address (with "Netmask masks away part of the specified IP"): do the same, and say so.
    const addr = parseIpv4Strict(m[1] as string);
    const bits = Number(m[2]);
    if (addr === null) return { error: (err as Error).message };
    const masked = bits === 0 ? 0 : (addr & (0xffffffff << (32 - bits))) >>> 0;
    const cidr = `${formatIpv4(masked)}/${bits}`;
    return { ranges: [cidr], warning: `"${value}" has host bits set: read as ${cidr}, as Squid does` };
  }
}
