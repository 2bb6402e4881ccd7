import { CuttleError } from '../errors.js';
import { type IpAddress, parseIpAddress, unmapIpv4 } from './address.js';
import { formatIpv4 } from './ipv4.js';
import { formatIpv6, isValidZone } from './ipv6.js';

/** A CIDR range; an IPv6 range may carry a zone, and then only matches addresses with that same zone. */
export type AddressRange =
  | { readonly kind: 'ipv4'; readonly base: number; readonly bits: number; readonly text: string }
  | {
      readonly kind: 'ipv6';
      readonly parts: readonly number[];
      readonly bits: number;
      readonly zone?: string | undefined;
      readonly text: string;
    };

/** Why a range string was refused. */
export class AddressRangeError extends CuttleError {
  override readonly name = 'AddressRangeError';
  readonly code = 'CUTTLE_ERR_ADDRESS_RANGE';
}

const PREFIX = /^(?:0|[1-9][0-9]{0,2})$/;

function maskV4(value: number, bits: number): number {
  return bits === 0 ? 0 : (value & (0xffffffff << (32 - bits))) >>> 0;
}

/**
 * Parses `addr`, `addr/bits` or a zoned IPv6 range `fe80::/10%lxdbr0` (the zone may also sit on the address:
 * `fe80::%lxdbr0/10`). Host bits must be zero (`10.0.0.1/8` is refused: it is usually a typo). Throws
 * AddressRangeError with a readable message.
 */
export function parseAddressRange(text: string): AddressRange {
  let s = text.trim();
  let zone: string | undefined;
  const pct = s.indexOf('%');
  if (pct !== -1) {
    const slash = s.indexOf('/');
    if (slash > pct) {
      // zone on the address: fe80::%eth0/10
      zone = s.slice(pct + 1, slash);
      s = s.slice(0, pct) + s.slice(slash);
    } else {
      zone = s.slice(pct + 1);
      s = s.slice(0, pct);
    }
    if (!isValidZone(zone)) throw new AddressRangeError(`invalid zone "${zone}" in "${text}"`);
  }
  const slash = s.indexOf('/');
  const addrText = slash === -1 ? s : s.slice(0, slash);
  const addr = parseIpAddress(addrText);
  if (addr === null || (addr.kind === 'ipv6' && addr.zone !== undefined)) {
    throw new AddressRangeError(`"${text}" is not an IP address or CIDR range`);
  }
  const max = addr.kind === 'ipv4' ? 32 : 128;
  let bits = max;
  if (slash !== -1) {
    const p = s.slice(slash + 1);
    if (!PREFIX.test(p) || Number(p) > max) throw new AddressRangeError(`invalid prefix length in "${text}"`);
    bits = Number(p);
  }
  if (addr.kind === 'ipv4') {
    if (zone !== undefined) throw new AddressRangeError(`a zone is only valid on an IPv6 range: "${text}"`);
    if (maskV4(addr.value, bits) !== addr.value) throw new AddressRangeError(`"${text}" has host bits set`);
    return { kind: 'ipv4', base: addr.value, bits, text: `${formatIpv4(addr.value)}/${bits}` };
  }
  const masked = maskV6(addr.parts, bits);
  if (masked.some((v, i) => v !== addr.parts[i])) throw new AddressRangeError(`"${text}" has host bits set`);
  const canon = `${formatIpv6(masked)}/${bits}${zone === undefined ? '' : `%${zone}`}`;
  return { kind: 'ipv6', parts: masked, bits, zone, text: canon };
}

function maskV6(parts: readonly number[], bits: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, bits - i * 16));
    out.push(keep === 0 ? 0 : (parts[i] as number) & ((0xffff << (16 - keep)) & 0xffff));
  }
  return out;
}

function v6InPrefix(parts: readonly number[], base: readonly number[], bits: number): boolean {
  for (let i = 0; i < 8 && bits > 0; i++, bits -= 16) {
    const keep = Math.min(bits, 16);
    const mask = (0xffff << (16 - keep)) & 0xffff;
    if (((parts[i] as number) & mask) !== base[i]) return false;
  }
  return true;
}

function v4AsMapped(value: number): number[] {
  return [0, 0, 0, 0, 0, 0xffff, value >>> 16, value & 0xffff];
}

/**
 * True if `addr` lies in `range`. An IPv4-mapped IPv6 address is compared as the IPv4 address it stands for, and
 * an IPv4 address against an IPv6 range as its mapped form. A zoned range needs the same zone on the address.
 */
export function rangeContains(range: AddressRange, addr: IpAddress): boolean {
  if (range.kind === 'ipv4') {
    const a = unmapIpv4(addr);
    return a.kind === 'ipv4' && maskV4(a.value, range.bits) === range.base;
  }
  if (addr.kind === 'ipv4')
    return range.zone === undefined && v6InPrefix(v4AsMapped(addr.value), range.parts, range.bits);
  if (range.zone !== undefined && addr.zone !== range.zone) return false;
  return v6InPrefix(addr.parts, range.parts, range.bits);
}

/** A compiled list of ranges. Lists here are short (clients, allow_ips, allow_ranges): a scan is the right cost. */
export class AddressRangeSet {
  readonly ranges: readonly AddressRange[];

  constructor(ranges: readonly AddressRange[]) {
    this.ranges = ranges;
  }

  /** Parses every entry; throws AddressRangeError naming the first bad one. */
  static parse(texts: readonly string[]): AddressRangeSet {
    return new AddressRangeSet(texts.map(parseAddressRange));
  }

  /** The first range containing `addr`, or null. */
  find(addr: IpAddress): AddressRange | null {
    for (const r of this.ranges) if (rangeContains(r, addr)) return r;
    return null;
  }

  has(addr: IpAddress): boolean {
    return this.find(addr) !== null;
  }
}
