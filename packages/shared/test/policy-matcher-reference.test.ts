/**
 * DomainMatcher (and `decide` on top of it) against a straightforward reference: every pattern tried in list order
 * with string comparisons and one regular expression per glob, the precedence written out (exact, then the longest
 * `.name`, then the glob with the longest fixed suffix, ties to the first listed). Lists and hosts are generated
 * from a small vocabulary, seeded, so patterns overlap, repeat and collide often and a failure reproduces.
 */
import { compilePolicy, configSchema, DomainMatcher, normalizeHost } from '@cuttle/shared';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../test-support/seeded-random.js';
import { hashName, NameTable } from '../src/host/name-table.js';

// Labels as a config or a client may write them: cases, IDNA (both forms of one name), digits, `_`, `-`.
const LABELS = [
  'a',
  'b',
  'api',
  'API',
  'mirror',
  'Mirror',
  'mirror-1',
  'mirror-eu',
  'cdn',
  'x-cdn',
  'eu',
  'ec2',
  'ec2-1-2',
  '_srv',
  'b\u00fccher',
  'xn--bcher-kva',
  'test',
  'example',
  'co',
  'x1',
];
const SUFFIX_LABELS = ['test', 'example', 'co.test', 'eu.test', 'b\u00fccher.test'];

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)] as T;
}

function labels(r: () => number, min: number, max: number): string {
  const n = min + Math.floor(r() * (max - min + 1));
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(pick(r, LABELS));
  return out.join('.');
}

/** A name of 1-3 labels under a suffix; now and then with a trailing dot. */
function name(r: () => number): string {
  const base = `${labels(r, 0, 2)}.${pick(r, SUFFIX_LABELS)}`.replace(/^\./, '');
  return r() < 0.1 ? `${base}.` : base;
}

function pattern(r: () => number): string {
  const x = r();
  const n = name(r);
  if (x < 0.3) return n;
  if (x < 0.55) return `.${n}`;
  if (x < 0.65) return `*.${n}`;
  if (x < 0.72) return `**.${n}`;
  if (x < 0.78) return `mirror-*.${n}`;
  if (x < 0.82) return `*-cdn.${n}`;
  if (x < 0.86) return `${pick(r, ['a', 'ec2', 'API'])}.*.${n}`;
  if (x < 0.89) return `**.mirror.*.${n}`;
  if (x < 0.92) return `EC2-*.${n}`;
  if (x < 0.94) return `*${pick(r, ['r', '-', 'i'])}*.${n}`;
  if (x < 0.96) return '*.*';
  if (x < 0.97) return '*';
  return `a.**.${n}`;
}

/** A host that often hits `p`: its wildcards filled in, or labels put in front of a name. */
function hostFor(r: () => number, p: string): string {
  const body = p.startsWith('.') ? `${labels(r, 0, 2)}.${p.slice(1)}`.replace(/^\./, '') : p;
  return body
    .split('.')
    .map((l) =>
      l === '**'
        ? labels(r, 1, 3)
        : l.replace(/\*/g, () => (r() < 0.2 ? '' : pick(r, ['x', '9', 'eu', 'r-']))),
    )
    .filter((l, i, all) => l !== '' || i === all.length - 1)
    .join('.');
}

// ---- the reference ----

const norm = (text: string): string => {
  const n = normalizeHost(text);
  if (n.kind !== 'name') throw new Error(`reference: ${text} is not a name`);
  return n.host;
};

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');

interface RefGlob {
  readonly entry: string;
  readonly re: RegExp;
  readonly fixedLabels: number;
}

function refGlob(p: string): RefGlob {
  const ls = (p.endsWith('.') ? p.slice(0, -1) : p).split('.');
  let lastWild = -1;
  ls.forEach((l, i) => {
    if (l.includes('*')) lastWild = i;
  });
  const parts = ls.map((l) => {
    if (l === '*') return '[^.]+';
    if (l === '**') return '[^.]+(?:\\.[^.]+)*';
    if (l.includes('*')) return l.toLowerCase().split('*').map(escapeRe).join('[^.]*');
    return escapeRe(norm(l));
  });
  return { entry: p, re: new RegExp(`^${parts.join('\\.')}$`), fixedLabels: ls.length - 1 - lastWild };
}

/**
 * The entry that matches a normalised host, by the documented precedence, trying every pattern in list order
 * (normalised and turned into regular expressions once, the only preparation).
 */
function reference(patterns: readonly string[]): (host: string) => string | null {
  const exact = patterns
    .filter((p) => !p.includes('*') && !p.startsWith('.'))
    .map((p) => [p, norm(p)] as const);
  const suffixes = patterns
    .filter((p) => !p.includes('*') && p.startsWith('.'))
    .map((p) => [p, norm(p.slice(1))] as const);
  const globs = patterns.filter((p) => p.includes('*')).map(refGlob);
  return (host) => {
    for (const [p, n] of exact) if (n === host) return p;
    let best: string | null = null;
    let bestLength = -1;
    for (const [p, s] of suffixes) {
      if ((host === s || host.endsWith(`.${s}`)) && s.length > bestLength) {
        best = p;
        bestLength = s.length;
      }
    }
    if (best !== null) return best;
    let bestGlob: RefGlob | null = null;
    for (const g of globs) {
      if (g.re.test(host) && (bestGlob === null || g.fixedLabels > bestGlob.fixedLabels)) bestGlob = g;
    }
    return bestGlob?.entry ?? null;
  };
}

// ---- the comparisons ----

function generatedList(seed: number, size: number): { patterns: string[]; hosts: string[] } {
  const r = seededRandom(seed);
  const patterns: string[] = [];
  for (let i = 0; i < size; i++) patterns.push(pattern(r));
  const hosts: string[] = [];
  for (let i = 0; i < 1500; i++) hosts.push(r() < 0.7 ? hostFor(r, pick(r, patterns)) : name(r));
  return { patterns, hosts };
}

/** How a client may write a name: cases, a trailing dot, Unicode for an IDNA label. */
function variant(r: () => number, host: string): string {
  const x = r();
  if (x < 0.25) return host.toUpperCase();
  if (x < 0.4) return `${host}.`;
  if (x < 0.5) return host.replace('xn--bcher-kva', 'B\u00dcCHER');
  return [...host].map((c) => (r() < 0.3 ? c.toUpperCase() : c)).join('');
}

const LISTS = [
  [1, 5],
  [2, 12],
  [3, 60],
  [4, 300],
  [5, 2000],
] as const;

describe('DomainMatcher against the reference', () => {
  it.each(LISTS)('seed %i, %i patterns: every generated host gets the same entry', (seed, size) => {
    const { patterns, hosts } = generatedList(seed, size);
    const errors: string[] = [];
    const m = new DomainMatcher(patterns, (i, message) => errors.push(`${i}: ${message}`));
    expect(errors).toEqual([]);
    const referenceMatch = reference(patterns);
    let hits = 0;
    const kinds = new Set<string>();
    for (const raw of hosts) {
      const n = normalizeHost(raw);
      if (n.kind !== 'name') continue;
      const expected = referenceMatch(n.host);
      expect({ host: n.host, entry: m.match(n.host) }).toEqual({ host: n.host, entry: expected });
      if (expected !== null) {
        hits++;
        kinds.add(expected.includes('*') ? 'glob' : expected.startsWith('.') ? 'suffix' : 'exact');
      }
    }
    // The lists must exercise what they claim: hits and misses, and every kind of entry on the larger lists.
    expect(hits).toBeGreaterThan(hosts.length / 5);
    expect(hits).toBeLessThan(hosts.length);
    if (size >= 60) expect([...kinds].sort()).toEqual(['exact', 'glob', 'suffix']);
  });

  it.each(LISTS)('seed %i, %i patterns: decide allows exactly what the reference matches', (seed, size) => {
    const { patterns, hosts } = generatedList(seed, size);
    const policy = compilePolicy(configSchema.parse({ listen: ['127.0.0.1:3128'], allow: patterns }));
    const referenceMatch = reference(patterns);
    const r = seededRandom(seed + 100);
    for (const h of hosts) {
      const raw = variant(r, h);
      const n = normalizeHost(raw);
      const d = policy.decide({ method: 'GET', host: raw, port: 80 });
      if (n.kind !== 'name') {
        expect(d.verdict).toBe('deny');
        continue;
      }
      const expected = referenceMatch(n.host);
      expect({ raw, verdict: d.verdict, rule: d.rule, host: d.host }).toEqual({
        raw,
        verdict: expected === null ? 'deny' : 'allow',
        rule: expected,
        host: n.host,
      });
    }
  });
});

// Wildcards inside a label, where a match must stay inside that label: [pattern, host, matches].
const IN_LABEL: (readonly [string, string, boolean])[] = [
  ['*r*.mirror.test', 'eu.mirror.test', false],
  ['*r*.mirror.test', 'r.mirror.test', true],
  ['ab*ba.test', 'aba.test', false],
  ['ab*ba.test', 'abba.test', true],
  ['a*b*c.test', 'abc.test', true],
  ['a*b*c.test', 'ab-c.test', true],
  ['a*b*c.test', 'acb.test', false],
  ['a*b*c.test', 'a-b-c-b.test', false],
  ['*-*.test', '-.test', true],
  ['*-*.test', 'ab.test', false],
  ['x*.*-cdn.test', 'x.eu-cdn.test', true],
  ['x*.*-cdn.test', 'x.cdn.test', false],
];

describe('in-label wildcards', () => {
  it.each(IN_LABEL)('%s matches %s: %s', (p, host, matches) => {
    const expected = matches ? p : null;
    expect(new DomainMatcher([p], () => {}).match(host)).toBe(expected);
    expect(reference([p])(host)).toBe(expected);
  });
});

describe('NameTable', () => {
  it('tells apart two names with the same 32-bit hash', () => {
    const seen = new Map<number, string>();
    let pair: [string, string] | null = null;
    for (let i = 0; pair === null; i++) {
      const n = `c${i.toString(36)}.test`;
      const other = seen.get(hashName(n));
      if (other !== undefined) pair = [other, n];
      else seen.set(hashName(n), n);
    }
    const [first, second] = pair;
    expect(hashName(first)).toBe(hashName(second));
    expect(new DomainMatcher([first], () => {}).match(second)).toBeNull();
    expect(new DomainMatcher([`.${first}`], () => {}).match(`x.${second}`)).toBeNull();
    const both = new DomainMatcher([second, `.${first}`], () => {});
    expect([
      both.match(first),
      both.match(second),
      both.match(`a.${first}`),
      both.match(`a.${second}`),
    ]).toEqual([`.${first}`, second, `.${first}`, null]);
  });

  it('grows past the size it was made for and finds every name', () => {
    const t = new NameTable(1);
    const names = Array.from({ length: 5000 }, (_, i) => `n${i}.grow.test`);
    for (const [i, n] of names.entries()) t.addExact(n, i % 2 === 0 ? n : `${n.toUpperCase()}.`);
    expect(t.size).toBe(5000);
    for (const [i, n] of names.entries()) {
      const slot = t.find(hashName(n), `x.${n}`, 2, ~0);
      expect(slot).not.toBe(-1);
      expect(t.exactAt(slot)).toBe(i % 2 === 0 ? n : `${n.toUpperCase()}.`);
    }
    expect(t.find(hashName('n5000.grow.test'), 'n5000.grow.test', 0, ~0)).toBe(-1);
  });
});

describe('long names and many labels', () => {
  // A slot holds a key of up to 48 bytes; longer ones are compared elsewhere. The label-count masks give 31 or
  // more labels one bit.
  const label = (n: number, c: string) => c.repeat(n);
  const long = (n: number) => `${label(n - 5, 'l')}.test`;
  const many = (n: number, first = 'a') =>
    [first, ...Array.from({ length: n - 2 }, (_, i) => `l${i}`), 'test'].join('.');
  const patterns = [
    long(47),
    long(48),
    long(49),
    long(63),
    `.${label(60, 'm')}.${label(60, 'n')}.${label(60, 'o')}.test`,
    `**.${label(55, 'g')}.test`,
    many(31),
    `.${many(33)}`,
    `*.${many(40)}`,
    `.${many(29, 'b')}`,
  ];
  const hosts = [
    ...patterns.filter((p) => !p.startsWith('.') && !p.includes('*')),
    long(47).replace('.test', 'x.test'),
    `${long(49).slice(0, -6)}k.test`,
    `${long(63).slice(0, -6)}k.test`,
    `x.${label(60, 'm')}.${label(60, 'n')}.${label(60, 'o')}.test`,
    `x.${label(60, 'm')}.${label(60, 'n')}.${label(59, 'o')}.test`,
    `a.b.${label(55, 'g')}.test`,
    many(32),
    many(30),
    `x.${many(31)}`,
    `x.y.${many(33)}`,
    many(33),
    `x.${many(40)}`,
    `x.y.${many(40)}`,
    many(29, 'b'),
    `x.${many(29, 'b')}`,
    `x.${many(29, 'c')}`,
  ];
  it.each(hosts)('%s gets the same entry as from the reference', (host) => {
    const m = new DomainMatcher(patterns, () => {});
    expect(m.match(norm(host))).toBe(reference(patterns)(host));
  });

  it('tells apart two names longer than a slot with the same 32-bit hash, after the table grew', () => {
    const prefix = 'k'.repeat(50);
    const seen = new Map<number, string>();
    let pair: [string, string] | null = null;
    for (let i = 0; pair === null; i++) {
      const n = `${prefix}${i.toString(36)}.test`;
      const other = seen.get(hashName(n));
      if (other !== undefined) pair = [other, n];
      else seen.set(hashName(n), n);
    }
    const [first, second] = pair;
    const t = new NameTable(1);
    const names = Array.from({ length: 300 }, (_, i) => `${'j'.repeat(40 + (i % 30))}${i}.test`);
    t.addExact(first, first);
    for (const n of names) t.addExact(n, n);
    expect(t.find(hashName(second), second, 0, ~0)).toBe(-1);
    t.addSuffix(second, `.${second}`);
    expect(t.suffixAt(t.find(hashName(second), `x.${second}`, 2, ~0))).toBe(`.${second}`);
    expect(t.exactAt(t.find(hashName(first), first, 0, ~0))).toBe(first);
    for (const n of names) expect(t.exactAt(t.find(hashName(n), `x.${n}`, 2, ~0))).toBe(n);
  });
});

describe('the filter pass over every suffix at once', () => {
  const names = Array.from({ length: 5000 }, (_, i) => `n${i.toString(36)}.filter.test`);
  const t = new NameTable(names.length);
  for (const n of names) t.addExact(n, n);

  it('lets every listed name through, at each of the 31 positions it reads', () => {
    const hashes = new Int32Array(40);
    for (let at = 0; at + 40 <= names.length; at += 40) {
      for (let j = 0; j < 40; j++) hashes[j] = hashName(names[at + j] as string);
      // Bits 0-30 for the first 31 hashes; from 31 on `match` checks the filter in `find`.
      expect(t.filterPass(hashes, 40)).toBe(0x7fffffff);
      expect(t.filterPass(hashes, 5)).toBe(0b11111);
    }
  });

  it('stops most names that are not listed, and says so at the right position', () => {
    const hashes = new Int32Array(3);
    let passed = 0;
    for (let i = 0; i < 10_000; i++) {
      hashes[0] = hashName(`absent${i}.filter.test`);
      hashes[1] = hashName(names[i % names.length] as string);
      hashes[2] = hashName(`other${i}.filter.test`);
      const pass = t.filterPass(hashes, 3);
      expect(pass & 0b010).toBe(0b010);
      passed += (pass & 1) + ((pass >>> 2) & 1);
    }
    expect(passed / 20_000).toBeLessThan(0.1);
  });
});
