import {
  AddressRangeSet,
  formatIpAddress,
  parseAddressRange,
  parseIpAddress,
  parseIpv6,
  rangeContains,
  validateAddressRange,
} from '@cuttle/shared';
import * as ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';

describe('parseIpAddress (socket and resolver text)', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1', undefined],
    ['::1', '::1', undefined],
    ['[::1]', '::1', undefined],
    ['::ffff:127.0.0.1', '::ffff:127.0.0.1', undefined],
    ['fe80::2%lxdbr0', 'fe80::2', 'lxdbr0'],
    ['fe80::2%25lxdbr0', 'fe80::2', 'lxdbr0'],
    ['FE80:0:0:0:0:0:0:2%eth0', 'fe80::2', 'eth0'],
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1', undefined],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1', undefined],
  ])('%j -> %s zone %s', (text, canon, zone) => {
    const a = parseIpAddress(text);
    expect(a).not.toBeNull();
    if (a === null) return;
    expect(formatIpAddress(a)).toBe(canon);
    expect(a.kind === 'ipv6' ? a.zone : undefined).toBe(zone);
  });

  it.each([
    '127.1',
    '2130706433',
    '0177.0.0.1',
    '01.2.3.4',
    '1.2.3.4.',
    'fe80::1%',
    'fe80::1%a b',
    'a.com',
    '',
  ])('refuses %j (only strict forms come from sockets and resolvers)', (text) => {
    expect(parseIpAddress(text)).toBeNull();
  });
});

describe('parseAddressRange', () => {
  it.each([
    ['fe80::/10', 'fe80::/10'],
    ['fe80::/10%lxdbr0', 'fe80::/10%lxdbr0'],
    ['fe80::%lxdbr0/10', 'fe80::/10%lxdbr0'],
    ['127.0.0.1', '127.0.0.1/32'],
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['::1', '::1/128'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['::/0', '::/0'],
    ['::ffff:0:0/96', '::ffff:0.0.0.0/96'],
  ])('%j -> %s', (text, canon) => {
    expect(parseAddressRange(text).text).toBe(canon);
    expect(validateAddressRange(text)).toBeNull();
  });

  it.each([
    ['10.0.0.1/8', 'host bits'],
    ['10.0.0.0/33', 'prefix length'],
    ['10.0.0.0/08', 'prefix length'],
    ['10.0.0.0/', 'prefix length'],
    ['fe80::/129', 'prefix length'],
    ['127.0.0.1%lo', 'only valid on an IPv6'],
    ['fe80::/10%', 'invalid zone'],
    ['fe80::/10%bad zone', 'invalid zone'],
    ['fe80::/10%a/b', 'invalid zone'],
    ['example.com', 'not an IP address'],
    ['127.1/32', 'not an IP address'],
    ['', 'not an IP address'],
  ])('refuses %j (%s)', (text, message) => {
    expect(() => parseAddressRange(text)).toThrow(message);
    expect(validateAddressRange(text)).toContain(message);
  });
});

describe('rangeContains: zones and IPv4-mapped clients', () => {
  const client = (text: string) => {
    const a = parseIpAddress(text);
    if (a === null) throw new Error(text);
    return a;
  };
  it.each([
    ['fe80::/10', 'fe80::2%lxdbr0', true],
    ['fe80::/10', 'fe80::2', true],
    ['fe80::/10%lxdbr0', 'fe80::2%lxdbr0', true],
    ['fe80::/10%lxdbr0', 'fe80::2%eth1', false],
    ['fe80::/10%lxdbr0', 'fe80::2', false],
    ['fe80::/10%lxdbr0', 'fe80::2%LXDBR0', false],
    ['fe80::/10', '::1', false],
    ['fe80::/10', 'fec0::1', false],
    ['127.0.0.0/8', '::ffff:127.0.0.1', true],
    ['127.0.0.1', '::ffff:127.0.0.1', true],
    ['127.0.0.1', '::127.0.0.1', false],
    ['10.0.0.0/8', '::ffff:11.0.0.1', false],
    ['::ffff:0:0/96', '127.0.0.1', true],
    ['::1', '127.0.0.1', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['0.0.0.0/0', '2001:db8::1', false],
    ['::/0', '2001:db8::1', true],
    ['2001:db8::/33', '2001:db8:7fff::1', true],
    ['2001:db8::/33', '2001:db8:8000::1', false],
  ])('%s contains %s: %s', (range, addr, expected) => {
    expect(rangeContains(parseAddressRange(range), client(addr))).toBe(expected);
  });

  it('a set reports the first matching range', () => {
    const set = AddressRangeSet.parse(['10.0.0.0/8', '::1', 'fe80::/10%lxdbr0']);
    expect(set.find(client('fe80::5%lxdbr0'))?.text).toBe('fe80::/10%lxdbr0');
    expect(set.has(client('fe80::5%eth0'))).toBe(false);
  });
});

describe('parseIpv6 agrees with ipaddr.js on hex-only text', () => {
  it.each([
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['::1.2.3.4', '0:0:0:0:0:0:102:304'],
  ])('%s -> %s', (text, canon) => {
    expect(
      parseIpv6(text)
        ?.map((p) => p.toString(16))
        .join(':'),
    ).toBe(canon);
  });

  it.each([
    '1:2:3:4:5:6:7:8:9',
    '1::2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7:1.2.3.4',
    ':1::',
    '1:',
    '::1:',
    '1::2::3',
    '12345::',
    '::1.2.3',
    '::1.2.3.4.5',
    '::01.2.3.4',
    '::256.1.1.1',
    '1.2.3.4',
    'g::',
  ])('refuses %s', (text) => {
    expect(parseIpv6(text)).toBeNull();
  });

  it('on 3000 seeded random strings of hex digits and colons', () => {
    let seed = 1234567;
    const next = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    const chars = '0123456789abcdefF::::';
    for (let i = 0; i < 3000; i++) {
      let s = '';
      const len = 2 + Math.floor(next() * 30);
      for (let j = 0; j < len; j++) s += chars[Math.floor(next() * chars.length)];
      const ours = parseIpv6(s);
      const theirs = ipaddr.IPv6.isValid(s) ? ipaddr.IPv6.parse(s).parts : null;
      expect({ s, parts: ours }).toEqual({ s, parts: theirs });
    }
  });
});
