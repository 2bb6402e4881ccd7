/**
 * Deterministic allowlists and request mixes for the allowlist bench. A list of N rules holds, like real ones,
 * mostly exact names, a good share of `.suffix` entries and a few globs; the requests are hits of each kind,
 * misses and IP literals. Addresses are documentation ranges (data only, no socket is opened).
 */
import { type DecisionInput, parseProxyTarget } from '@cuttle/shared';

/** A small seeded PRNG (mulberry32): the same seed gives the same lists in every run. */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'api',
  'cdn',
  'static',
  'mirror',
  'download',
  'registry',
  'pkg',
  'files',
  'assets',
  'auth',
  'login',
  'update',
  'repo',
  'deb',
  'security',
  'archive',
  'objects',
  'storage',
  'images',
  'media',
  'docs',
  'edge',
  'cache',
  'ftp',
];
const BASES = [
  'github',
  'ubuntu',
  'debian',
  'python',
  'npmjs',
  'docker',
  'gitlab',
  'cloudflare',
  'fastly',
  'akamai',
  'google',
  'mozilla',
  'kernel',
  'rust-lang',
  'golang',
  'pypi',
  'maven',
  'gradle',
  'nodejs',
  'yarnpkg',
  'alpine',
  'fedora',
];
// Made-up top-level labels: the names are data only, but none of them should be a real host.
const TLDS = ['test', 'example', 'invalid', 'xa', 'xb', 'co.test', 'xc', 'xd', 'xe', 'xf'];

/** The kinds of rule in a generated list; the bench prints how many of each it used. */
export interface RuleMix {
  readonly exact: number;
  readonly suffix: number;
  readonly glob: number;
}

/** A generated allowlist plus what a request must look like to hit each kind of rule. */
export interface GeneratedList {
  readonly patterns: readonly string[];
  readonly mix: RuleMix;
  readonly exactNames: readonly string[];
  /** Base names of `.suffix` rules: any subdomain hits. */
  readonly suffixBases: readonly string[];
  /** A function per glob rule that builds a matching host. */
  readonly globHits: readonly ((rnd: () => number) => string)[];
}

function pick<T>(rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)] as T;
}

/** A unique registrable name: `<base><n>.<tld>` (the number keeps names distinct at 100k rules). */
function baseName(rnd: () => number, i: number): string {
  return `${pick(rnd, BASES)}${i.toString(36)}.${pick(rnd, TLDS)}`;
}

/** `count` rules: 60% exact, 30% `.suffix`, 10% globs (`*.x`, `**.x`, `mirror-*.x`), in shuffled order. */
export function generateAllowlist(count: number, seed = 1): GeneratedList {
  const rnd = createRandom(seed);
  const patterns: string[] = [];
  const exactNames: string[] = [];
  const suffixBases: string[] = [];
  const globHits: ((r: () => number) => string)[] = [];
  const nGlob = Math.max(1, Math.round(count * 0.1));
  const nSuffix = Math.max(1, Math.round(count * 0.3));
  const nExact = Math.max(1, count - nGlob - nSuffix);
  for (let i = 0; i < nExact; i++) {
    const base = baseName(rnd, i);
    const name = rnd() < 0.7 ? `${pick(rnd, WORDS)}.${base}` : base;
    patterns.push(name);
    exactNames.push(name);
  }
  for (let i = 0; i < nSuffix; i++) {
    const base = baseName(rnd, nExact + i);
    patterns.push(`.${base}`);
    suffixBases.push(base);
  }
  for (let i = 0; i < nGlob; i++) {
    const base = baseName(rnd, nExact + nSuffix + i);
    const kind = i % 3;
    if (kind === 0) {
      patterns.push(`*.${base}`);
      globHits.push((r) => `${pick(r, WORDS)}.${base}`);
    } else if (kind === 1) {
      patterns.push(`**.${base}`);
      globHits.push((r) => `${pick(r, WORDS)}.${pick(r, WORDS)}.${base}`);
    } else {
      patterns.push(`mirror-*.${base}`);
      globHits.push((r) => `mirror-${Math.floor(r() * 100)}.${base}`);
    }
  }
  // Shuffle so the naive baseline's linear scan meets hits at random depths, as in a hand-kept list.
  for (let i = patterns.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [patterns[i], patterns[j]] = [patterns[j] as string, patterns[i] as string];
  }
  return {
    patterns,
    mix: { exact: nExact, suffix: nSuffix, glob: nGlob },
    exactNames,
    suffixBases,
    globHits,
  };
}

/** What share of the requests is of each kind. */
export const REQUEST_MIX = {
  exactHit: 0.35,
  suffixHit: 0.2,
  globHit: 0.1,
  miss: 0.25,
  ipLiteral: 0.1,
} as const;

const CLIENT = { address: 'fe80::216:3eff:fe12:3456', zone: 'lxdbr0' } as const;

/**
 * The host as the proxy hands it to `decide`: the request target arrives as bytes, Node's HTTP parser makes a
 * fresh string of them (`req.url`), and `parseProxyTarget` takes the host out of it. Built this way for every
 * request, so no request's host is the list's own string object (before 2026-12-02 an exact hit's host was:
 * 6 hot strings at 10 rules, ~2.9k cold ones at 100k, which no proxy sees; bench/README.md "Allowlist flatness").
 */
function hostAsParsed(method: string, host: string): string {
  const text = method === 'CONNECT' ? `${host}:443` : `http://${host}/`;
  const parsed = parseProxyTarget(method, Buffer.from(text, 'latin1').toString('latin1'));
  if (!parsed.ok) throw new Error(`generated target ${text} does not parse: ${parsed.detail}`);
  return parsed.host;
}

/**
 * `count` decision inputs against `list`: hits of each rule kind, misses (names in no rule) and IP literals
 * (IPv4 and IPv6 documentation addresses), 70% GET on port 80 and 30% CONNECT to 443, from a link-local client.
 * Each host is its own string, as the proxy's parser gives it (`hostAsParsed`).
 */
export function generateRequests(list: GeneratedList, count: number, seed = 2): DecisionInput[] {
  const rnd = createRandom(seed);
  const out: DecisionInput[] = [];
  for (let i = 0; i < count; i++) {
    const x = rnd();
    let host: string;
    if (x < REQUEST_MIX.exactHit) host = pick(rnd, list.exactNames);
    else if (x < REQUEST_MIX.exactHit + REQUEST_MIX.suffixHit)
      host = `${pick(rnd, WORDS)}.${pick(rnd, WORDS)}.${pick(rnd, list.suffixBases)}`;
    else if (x < REQUEST_MIX.exactHit + REQUEST_MIX.suffixHit + REQUEST_MIX.globHit)
      host = pick(rnd, list.globHits)(rnd);
    else if (x < 1 - REQUEST_MIX.ipLiteral)
      host = `${pick(rnd, WORDS)}.${pick(rnd, BASES)}-unlisted${Math.floor(rnd() * 1e6)}.${pick(rnd, TLDS)}`;
    else
      host =
        rnd() < 0.5
          ? `192.0.2.${Math.floor(rnd() * 254) + 1}`
          : `[2001:db8::${Math.floor(rnd() * 65535).toString(16)}]`;
    const connect = rnd() < 0.3;
    const method = connect ? 'CONNECT' : 'GET';
    out.push({ client: CLIENT, method, host: hostAsParsed(method, host), port: connect ? 443 : 80 });
  }
  return out;
}
