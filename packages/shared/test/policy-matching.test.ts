import { DomainMatcher, validateDomainPattern } from '@cuttle/shared';
import { describe, expect, it } from 'vitest';

function matcher(patterns: string[]): DomainMatcher {
  return new DomainMatcher(patterns, (i, message) => {
    throw new Error(`pattern ${i}: ${message}`);
  });
}

// [patterns, normalised host, expected matching entry or null]
const TABLE: (readonly [string[], string, string | null])[] = [
  // exact
  [['archive.ubuntu.com'], 'archive.ubuntu.com', 'archive.ubuntu.com'],
  [['archive.ubuntu.com'], 'ubuntu.com', null],
  [['archive.ubuntu.com'], 'x.archive.ubuntu.com', null],
  [['archive.ubuntu.com'], 'archive.ubuntu.com.evil.com', null],
  [['ARCHIVE.Ubuntu.com.'], 'archive.ubuntu.com', 'ARCHIVE.Ubuntu.com.'],
  [['b\u00fccher.example'], 'xn--bcher-kva.example', 'b\u00fccher.example'],
  [['\uff41.com'], 'a.com', '\uff41.com'],
  // .name: the name and every subdomain, at label boundaries only (Squid dstdomain)
  [['.ubuntu.com'], 'ubuntu.com', '.ubuntu.com'],
  [['.ubuntu.com'], 'archive.ubuntu.com', '.ubuntu.com'],
  [['.ubuntu.com'], 'a.b.c.ubuntu.com', '.ubuntu.com'],
  [['.ubuntu.com'], 'evilubuntu.com', null],
  [['.ubuntu.com'], 'ubuntu.com.evil.com', null],
  [['.ubuntu.com'], 'ubuntu.co', null],
  [['.ubuntu.com'], 'com', null],
  [['.ubuntu.com.'], 'archive.ubuntu.com', '.ubuntu.com.'],
  [['.com'], 'anything.com', '.com'],
  // the longest suffix names the decision
  [['.com', '.ubuntu.com'], 'archive.ubuntu.com', '.ubuntu.com'],
  [['.ubuntu.com', 'archive.ubuntu.com'], 'archive.ubuntu.com', 'archive.ubuntu.com'],
  // * is exactly one label
  [['*.example.com'], 'a.example.com', '*.example.com'],
  [['*.example.com'], 'example.com', null],
  [['*.example.com'], 'a.b.example.com', null],
  [['*.example.com'], 'aexample.com', null],
  [['ec2.*.amazonaws.com'], 'ec2.eu-west-1.amazonaws.com', 'ec2.*.amazonaws.com'],
  [['ec2.*.amazonaws.com'], 'ec2.a.b.amazonaws.com', null],
  [['ec2.*.amazonaws.com'], 'x.ec2.eu.amazonaws.com', null],
  [['ec2.*.amazonaws.com'], 'ec3.eu.amazonaws.com', null],
  [['ec2.*.amazonaws.com'], 'ec2.eu.amazonaws.com.evil.com', null],
  [['*.*.example.com'], 'a.b.example.com', '*.*.example.com'],
  [['*.*.example.com'], 'b.example.com', null],
  // ** is one or more labels; the apex needs its own entry
  [['**.example.com'], 'a.example.com', '**.example.com'],
  [['**.example.com'], 'a.b.c.example.com', '**.example.com'],
  [['**.example.com'], 'example.com', null],
  [['**.example.com'], 'evilexample.com', null],
  [['a.**.example.com'], 'a.x.y.example.com', 'a.**.example.com'],
  [['a.**.example.com'], 'a.example.com', null],
  [['a.**.example.com'], 'b.x.example.com', null],
  [['**.mirror.*.example.com'], 'x.y.mirror.eu.example.com', '**.mirror.*.example.com'],
  [['**.mirror.*.example.com'], 'mirror.eu.example.com', null],
  [['*.*'], 'a.b', '*.*'],
  [['*.*'], 'a.b.c', null],
  // wildcard inside a label (compiled once with minimatch on the label alone)
  [['ec2-*.compute.example'], 'ec2-1-2-3-4.compute.example', 'ec2-*.compute.example'],
  [['ec2-*.compute.example'], 'ec2-.compute.example', 'ec2-*.compute.example'],
  [['ec2-*.compute.example'], 'ec3-1.compute.example', null],
  [['ec2-*.compute.example'], 'x.ec2-1.compute.example', null],
  [['*-cdn.example'], 'eu-cdn.example', '*-cdn.example'],
  [['*-cdn.example'], 'eu.x-cdn.example', null],
  [['EC2-*.Compute.example.'], 'ec2-9.compute.example', 'EC2-*.Compute.example.'],
  // globs are case-insensitive through normalisation, unlike minimatch over raw text
  [['*.Example.COM'], 'a.example.com', '*.Example.COM'],
];

describe('DomainMatcher', () => {
  it.each(TABLE)('%j matches %s: %s', (patterns, host, expected) => {
    expect(matcher(patterns).match(host)).toBe(expected);
  });

  it('reports each invalid pattern with its index', () => {
    const errors: [number, string][] = [];
    new DomainMatcher(
      [
        'ok.com',
        'a..com',
        '.',
        '127.0.0.1',
        '.*.x.com',
        'a.**b.com',
        'a%2e.com',
        '*.1',
        'x.com',
        '[::1]',
        'a*.b?.com',
      ],
      (i, m) => errors.push([i, m]),
    );
    expect(errors.map(([i]) => i)).toEqual([1, 2, 3, 4, 5, 6, 7, 9, 10]);
    expect(errors.find(([i]) => i === 3)?.[1]).toContain('allow_ips');
  });

  it.each([
    ['archive.ubuntu.com', null],
    ['.ubuntu.com', null],
    ['ec2.*.amazonaws.com', null],
    ['a..b', 'invalid domain "a..b" (empty_label)'],
    ['2130706433', '"2130706433" is an IP literal: list addresses in allow_ips or a rule\'s dst'],
  ])('validateDomainPattern(%j) -> %j', (pattern, message) => {
    expect(validateDomainPattern(pattern)).toBe(message);
  });

  it('keeps lookups indexed: 100k patterns still answer by hash', () => {
    const patterns: string[] = [];
    for (let i = 0; i < 100_000; i++)
      patterns.push(i % 3 === 0 ? `h${i}.example` : i % 3 === 1 ? `.s${i}.example` : `*.g${i}.example`);
    const m = matcher(patterns);
    expect(m.match('h99999.example')).toBe('h99999.example');
    expect(m.match('deep.a.s99997.example')).toBe('.s99997.example');
    expect(m.match('x.g99998.example')).toBe('*.g99998.example');
    expect(m.match('x.y.g99998.example')).toBeNull();
    expect(m.match('nothing.example')).toBeNull();
  });
});
