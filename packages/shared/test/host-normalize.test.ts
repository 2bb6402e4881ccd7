import { isNormalName, normalizeHost } from '@cuttle/shared';
import * as ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../test-support/seeded-random.js';

type Row = readonly [input: string, kind: string, hostOrReason: string];

const NAMES: Row[] = [
  ['archive.ubuntu.com', 'name', 'archive.ubuntu.com'],
  ['ARCHIVE.Ubuntu.COM', 'name', 'archive.ubuntu.com'],
  ['archive.ubuntu.com.', 'name', 'archive.ubuntu.com'],
  ['ARCHIVE.ubuntu.com.', 'name', 'archive.ubuntu.com'],
  ['localhost', 'name', 'localhost'],
  ['a_b.example', 'name', 'a_b.example'],
  ['-a-.example', 'name', '-a-.example'],
  ['a.b.c.d.e.f.example', 'name', 'a.b.c.d.e.f.example'],
  ['1.2.3.example', 'name', '1.2.3.example'],
  ['example.0x', 'invalid', 'bad_ip_literal'],
  ['example.123', 'invalid', 'bad_ip_literal'],
  ['example.0xzz', 'name', 'example.0xzz'],
  [`${'a'.repeat(63)}.example`, 'name', `${'a'.repeat(63)}.example`],
  [`${'a'.repeat(64)}.example`, 'invalid', 'label_too_long'],
  [`${'abcdefghi.'.repeat(25)}abc`, 'name', `${'abcdefghi.'.repeat(25)}abc`],
  [`${'abcdefghi.'.repeat(25)}abcd`, 'invalid', 'too_long'],
  [`${'abcdefghi.'.repeat(25)}abc.`, 'name', `${'abcdefghi.'.repeat(25)}abc`],
  ['', 'invalid', 'empty'],
  ['.', 'invalid', 'empty'],
  ['a.com..', 'invalid', 'empty_label'],
  ['a..com', 'invalid', 'empty_label'],
  ['.a.com', 'invalid', 'empty_label'],
  ['a.com%2e', 'invalid', 'percent_encoded'],
  ['%61.com', 'invalid', 'percent_encoded'],
  ['user@a.com', 'invalid', 'userinfo'],
  ['a.com@evil.com', 'invalid', 'userinfo'],
  ['a.com\\evil.com', 'invalid', 'bad_character'],
  ['a.com/evil', 'invalid', 'bad_character'],
  ['a.com#frag', 'invalid', 'bad_character'],
  ['a.com?q', 'invalid', 'bad_character'],
  ['a com', 'invalid', 'bad_character'],
  ['a.com\t', 'invalid', 'bad_character'],
  ['a.com\u0000', 'invalid', 'bad_character'],
  ['a*b.com', 'invalid', 'bad_character'],
  ['a"b.com', 'invalid', 'bad_character'],
  ['x'.repeat(2000), 'invalid', 'too_long'],
];

// UTS 46 via node:url domainToASCII: compatibility forms map, so a homograph cannot dodge a rule.
const IDNA: Row[] = [
  ['\uff41.com', 'name', 'a.com'], // fullwidth a
  ['\uff21RCHIVE.ubuntu.com', 'name', 'archive.ubuntu.com'], // fullwidth A
  ['archive\u3002ubuntu\uff0ecom', 'name', 'archive.ubuntu.com'], // ideographic and fullwidth full stops
  ['archive.ubuntu.com\u3002', 'name', 'archive.ubuntu.com'],
  ['b\u00fccher.example', 'name', 'xn--bcher-kva.example'],
  ['B\u00dcCHER.example', 'name', 'xn--bcher-kva.example'],
  ['xn--bcher-kva.example', 'name', 'xn--bcher-kva.example'],
  ['XN--BCHER-KVA.example', 'name', 'xn--bcher-kva.example'],
  ['stra\u00dfe.de', 'name', 'xn--strae-oqa.de'],
  ['\u0430rchive.ubuntu.com', 'name', 'xn--rchive-2nf.ubuntu.com'], // Cyrillic a: another name, not archive
  ['xn--.example', 'invalid', 'idna'],
  ['xn--zz.example', 'invalid', 'idna'],
  ['xn--a.example', 'invalid', 'idna'],
  ['xn--abc-.example', 'invalid', 'idna'], // decodes to plain "abc" on Node 20
  ['a.xn--zz', 'invalid', 'idna'],
  ['xn--ls8h.la', 'name', 'xn--ls8h.la'],
  ['xn--nxasmq6b.com', 'name', 'xn--nxasmq6b.com'],
  ['a\uff05.com', 'invalid', 'idna'], // fullwidth percent
  ['a\uff0fb.com', 'invalid', 'idna'], // fullwidth solidus
  ['\u2100.com', 'invalid', 'idna'], // maps to a/c
  ['a\uff20b.com', 'invalid', 'idna'], // fullwidth commercial at
  ['\u00e4..com', 'invalid', 'empty_label'],
  ['\u00e4.com\u3002\u3002', 'invalid', 'empty_label'],
  ['\uff11\uff12\uff17.\uff10.\uff10.\uff11', 'ipv4', '127.0.0.1'], // fullwidth digits become an IP literal
];

// Every form inet_aton accepts: a URL host in any of them reaches the same address.
const IPV4: Row[] = [
  ['127.0.0.1', 'ipv4', '127.0.0.1'],
  ['127.0.0.1.', 'ipv4', '127.0.0.1'],
  ['2130706433', 'ipv4', '127.0.0.1'],
  ['0x7f000001', 'ipv4', '127.0.0.1'],
  ['0X7F000001', 'ipv4', '127.0.0.1'],
  ['017700000001', 'ipv4', '127.0.0.1'],
  ['0177.0.0.1', 'ipv4', '127.0.0.1'],
  ['0177.0000.0.01', 'ipv4', '127.0.0.1'],
  ['0x7f.0.0.1', 'ipv4', '127.0.0.1'],
  ['0x7f.1', 'ipv4', '127.0.0.1'],
  ['127.1', 'ipv4', '127.0.0.1'],
  ['127.0.1', 'ipv4', '127.0.0.1'],
  ['0x7f.0.0x0.1', 'ipv4', '127.0.0.1'],
  ['0177.1', 'ipv4', '127.0.0.1'],
  ['169.254.43518', 'ipv4', '169.254.169.254'],
  ['0xa9fea9fe', 'ipv4', '169.254.169.254'],
  ['0', 'ipv4', '0.0.0.0'],
  ['4294967295', 'ipv4', '255.255.255.255'],
  ['4294967296', 'invalid', 'bad_ip_literal'],
  ['1.2.3.4.5', 'invalid', 'bad_ip_literal'],
  ['999.1.1.1', 'invalid', 'bad_ip_literal'],
  ['1.2.3.256', 'invalid', 'bad_ip_literal'],
  ['1.2.65536', 'invalid', 'bad_ip_literal'],
  ['0x', 'invalid', 'bad_ip_literal'],
  ['0x.1', 'invalid', 'bad_ip_literal'],
  ['08.0.0.1', 'invalid', 'bad_ip_literal'], // 8 is not octal
  ['0x1g', 'name', '0x1g'],
  ['1..1', 'invalid', 'empty_label'],
];

const IPV6: Row[] = [
  ['::1', 'ipv6', '::1'],
  ['[::1]', 'ipv6', '::1'],
  ['[0:0:0:0:0:0:0:1]', 'ipv6', '::1'],
  ['[2001:DB8:0:0:1:0:0:1]', 'ipv6', '2001:db8::1:0:0:1'],
  ['[2001:db8::0:1]', 'ipv6', '2001:db8::1'],
  ['[1:2:3:4:5:6:7:0]', 'ipv6', '1:2:3:4:5:6:7:0'],
  ['[::ffff:127.0.0.1]', 'ipv6', '::ffff:127.0.0.1'],
  ['[::ffff:7f00:1]', 'ipv6', '::ffff:127.0.0.1'],
  ['[::127.0.0.1]', 'ipv6', '::7f00:1'],
  ['[64:ff9b::127.0.0.1]', 'ipv6', '64:ff9b::7f00:1'],
  ['[fe80::1%eth0]', 'ipv6', 'fe80::1'],
  ['[fe80::1%25eth0]', 'ipv6', 'fe80::1'],
  ['fe80::1%lxdbr0', 'ipv6', 'fe80::1'],
  ['[fe80::1%]', 'invalid', 'bad_zone'],
  ['[fe80::1%eth0/x]', 'invalid', 'bad_zone'],
  ['[fe80::1%25]', 'invalid', 'bad_zone'],
  ['[::1', 'invalid', 'bad_ipv6'],
  ['[1.2.3.4]', 'invalid', 'bad_ipv6'],
  ['[:::1]', 'invalid', 'bad_ipv6'],
  ['[1::2::3]', 'invalid', 'bad_ipv6'],
  ['[12345::]', 'invalid', 'bad_ipv6'],
  ['[1:2:3:4:5:6:7:8:9]', 'invalid', 'bad_ipv6'],
  ['[::ffff:127.1]', 'invalid', 'bad_ipv6'],
  ['[::ffff:0x7f.0.0.1]', 'invalid', 'bad_ipv6'],
  ['[::1.2.3.4:5]', 'invalid', 'bad_ipv6'],
  ['a.com:80', 'invalid', 'bad_ipv6'],
];

describe('normalizeHost', () => {
  it.each([...NAMES, ...IDNA, ...IPV4, ...IPV6])('%j -> %s %s', (input, kind, expected) => {
    const n = normalizeHost(input);
    expect(n.kind).toBe(kind);
    if (n.kind === 'invalid') expect(n.reason).toBe(expected);
    else expect(n.host).toBe(expected);
  });

  it('keeps the zone of an IPv6 literal apart from its canonical text', () => {
    expect(normalizeHost('[fe80::1%25lxdbr0]')).toMatchObject({
      kind: 'ipv6',
      host: 'fe80::1',
      zone: 'lxdbr0',
    });
    expect(normalizeHost('[::1]')).not.toHaveProperty('zone');
  });

  it('is idempotent on its own output', () => {
    for (const [input] of [...NAMES, ...IDNA, ...IPV4]) {
      const n = normalizeHost(input);
      if (n.kind === 'name' || n.kind === 'ipv4') expect(normalizeHost(n.host)).toEqual(n);
    }
  });
});

describe('isNormalName', () => {
  // Seeded, so a failure reproduces: strings near the edges (dots, digits, case, `xn--`, lengths around 63/253).
  function randomHosts(count: number): string[] {
    let seed = 12345;
    const r = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    const pieces = [
      'a',
      'z',
      '0',
      '9',
      '-',
      '_',
      '.',
      '..',
      'A',
      'xn--',
      'xn--bcher-kva',
      '0x',
      '1',
      ':',
      '%',
      '\u00e4',
    ];
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      let s = '';
      const n = Math.floor(r() * 12);
      for (let j = 0; j < n; j++) s += pieces[Math.floor(r() * pieces.length)];
      if (r() < 0.05) s = `${'b'.repeat(60 + Math.floor(r() * 6))}.${s}`;
      if (r() < 0.05) s = `${'c.'.repeat(120 + Math.floor(r() * 10))}${s}`;
      out.push(s);
    }
    return out;
  }
  const tableInputs = [...NAMES, ...IDNA, ...IPV4, ...IPV6].map(([input]) => input);

  it('says true only where normalizeHost gives the input back as a name', () => {
    let trues = 0;
    for (const input of [...tableInputs, ...randomHosts(20_000)]) {
      if (!isNormalName(input)) continue;
      trues++;
      expect({ input, n: normalizeHost(input) }).toEqual({ input, n: { kind: 'name', host: input } });
    }
    expect(trues).toBeGreaterThan(500);
  });

  it('says true for the names normalizeHost makes, unless they start a last label with a digit or hold xn--', () => {
    for (const input of tableInputs) {
      const n = normalizeHost(input);
      if (n.kind !== 'name') continue;
      const last = n.host.slice(n.host.lastIndexOf('.') + 1);
      const expected = !/^[0-9]/.test(last) && !n.host.includes('xn--');
      expect({ host: n.host, normal: isNormalName(n.host) }).toEqual({ host: n.host, normal: expected });
    }
  });
});

describe('normalizeHost on IP literals in every form gives the canonical text', () => {
  // The canonical forms are taken as they come (no new string); every other form is parsed and formatted. Both
  // must give the same host and address.
  const r = seededRandom(4242);
  const group = () => (r() < 0.4 ? 0 : r() < 0.3 ? Math.floor(r() * 16) : Math.floor(r() * 65536));

  it('IPv6: canonical, uppercase, leading zeros, uncompressed, bracketed (2000 seeded addresses)', () => {
    for (let i = 0; i < 2000; i++) {
      const parts = Array.from({ length: 8 }, group);
      if (parts.slice(0, 5).every((p) => p === 0) && parts[5] === 0xffff) continue; // mapped: its own form
      const canonical = new ipaddr.IPv6(parts).toRFC5952String();
      const forms = [
        canonical,
        canonical.toUpperCase(),
        parts.map((p) => p.toString(16).padStart(4, '0')).join(':'),
        parts.map((p) => p.toString(16)).join(':'),
        `[${canonical}]`,
      ];
      for (const form of forms) {
        const n = normalizeHost(form);
        expect({ form, n }).toEqual({
          form,
          n: { kind: 'ipv6', host: canonical, address: { kind: 'ipv6', parts } },
        });
      }
    }
  });

  it('IPv4: dotted quad, one decimal number, hex (2000 seeded addresses)', () => {
    for (let i = 0; i < 2000; i++) {
      const value = Math.floor(r() * 2 ** 32);
      const canonical = [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
      for (const form of [canonical, `${value}`, `0x${value.toString(16)}`, `${canonical}.`]) {
        const n = normalizeHost(form);
        expect({ form, n }).toEqual({
          form,
          n: { kind: 'ipv4', host: canonical, address: { kind: 'ipv4', value } },
        });
      }
    }
  });

  it.each([
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::ffff:102:304', '::ffff:1.2.3.4'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:0:2::3', '1:0:0:2::3'],
    ['1::2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['1::2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['fe80::1%eth0', 'fe80::1'],
  ])('%s -> %s', (form, host) => {
    const n = normalizeHost(form);
    expect(n.kind === 'ipv6' && n.host).toBe(host);
  });
});
