/**
 * Domain patterns (Squid dstdomain plus label globs) compiled into hash indexes, so a lookup costs O(labels) and
 * not O(patterns):
 *   `name`        exact          -> Map by name
 *   `.name`       name + subdomains -> Map by suffix, probed at each label boundary of the host
 *   glob          `*` one label, `**` one or more, `ec2-*` inside a label
 *                 -> Map by fixed suffix (the labels right of the rightmost wildcard), then the few globs there.
 * Patterns are normalised like hosts (IDNA, lowercase, one trailing dot) when compiled.
 */
import { Minimatch } from 'minimatch';
import { normalizeHost } from './normalize-host.js';

type LabelMatcher =
  | { readonly t: 'one' }
  | { readonly t: 'many' }
  | { readonly t: 'lit'; readonly v: string }
  | { readonly t: 'mm'; readonly mm: Minimatch };

interface CompiledGlob {
  readonly entry: string;
  /** Matchers for the labels left of the fixed suffix, left to right. */
  readonly left: readonly LabelMatcher[];
  readonly minLabels: number;
  readonly hasMany: boolean;
}

const GLOB_LABEL = /^[a-z0-9_*-]+$/;

function matchLabels(
  ms: readonly LabelMatcher[],
  mi: number,
  labels: readonly string[],
  li: number,
  end: number,
): boolean {
  for (; mi < ms.length; mi++, li++) {
    const m = ms[mi] as LabelMatcher;
    if (m.t === 'many') {
      // `**` takes one or more labels; try every split (patterns are short).
      const restMin = ms.length - mi - 1;
      for (let take = 1; li + take + restMin <= end; take++) {
        if (matchLabels(ms, mi + 1, labels, li + take, end)) return true;
      }
      return false;
    }
    if (li >= end) return false;
    const label = labels[li] as string;
    if (m.t === 'lit' ? label !== m.v : m.t === 'mm' ? !m.mm.match(label) : false) return false;
  }
  return li === end;
}

/** A compiled set of domain patterns. `match` returns the pattern as written in the config, or null. */
export class DomainMatcher {
  readonly #exact = new Map<string, string>();
  readonly #suffix = new Map<string, string>();
  readonly #globs = new Map<string, CompiledGlob[]>();
  readonly size: number;

  /** Compiles `patterns`; `onError(index, message)` receives each invalid one (which is then skipped). */
  constructor(patterns: readonly string[], onError: (index: number, message: string) => void) {
    patterns.forEach((p, i) => {
      const err = this.#add(p);
      if (err !== null) onError(i, err);
    });
    this.size = patterns.length;
  }

  #add(pattern: string): string | null {
    if (pattern.includes('*')) return this.#addGlob(pattern);
    const isSuffix = pattern.startsWith('.');
    const n = normalizeHost(isSuffix ? pattern.slice(1) : pattern);
    if (n.kind === 'invalid') return `invalid domain "${pattern}" (${n.reason})`;
    if (n.kind !== 'name')
      return `"${pattern}" is an IP literal: list addresses in allow_ips or a rule's dst`;
    const map = isSuffix ? this.#suffix : this.#exact;
    if (!map.has(n.host)) map.set(n.host, pattern);
    return null;
  }

  #addGlob(pattern: string): string | null {
    const body = pattern.endsWith('.') ? pattern.slice(0, -1) : pattern;
    if (body.startsWith('.'))
      return `"${pattern}": a glob cannot start with "." (write "**.name" or "*.name")`;
    const labels = body.split('.');
    let lastWild = -1;
    labels.forEach((l, i) => {
      if (l.includes('*')) lastWild = i;
    });
    const left: LabelMatcher[] = [];
    for (let i = 0; i <= lastWild; i++) {
      const raw = labels[i] as string;
      if (raw === '*') left.push({ t: 'one' });
      else if (raw === '**') left.push({ t: 'many' });
      else if (raw.includes('*')) {
        const l = raw.toLowerCase();
        if (!GLOB_LABEL.test(l) || l.includes('**')) return `"${pattern}": invalid glob label "${raw}"`;
        // minimatch compiles one label's wildcard; the label holds no dots or slashes, so `*` stays inside it.
        left.push({
          t: 'mm',
          mm: new Minimatch(l, { nocase: false, noext: true, nobrace: true, dot: true }),
        });
      } else {
        const n = normalizeHost(raw);
        if (n.kind !== 'name' || n.host.includes('.')) return `"${pattern}": invalid label "${raw}"`;
        left.push({ t: 'lit', v: n.host });
      }
    }
    let suffix = '';
    if (lastWild < labels.length - 1) {
      const n = normalizeHost(labels.slice(lastWild + 1).join('.'));
      if (n.kind !== 'name') return `"${pattern}": invalid fixed suffix`;
      suffix = n.host;
    }
    const hasMany = left.some((m) => m.t === 'many');
    const glob: CompiledGlob = { entry: pattern, left, minLabels: left.length, hasMany };
    const bucket = this.#globs.get(suffix);
    if (bucket === undefined) this.#globs.set(suffix, [glob]);
    else bucket.push(glob);
    return null;
  }

  /**
   * The pattern that matches the normalised name `host`: exact first, then the longest `.name`, then the glob with
   * the longest fixed suffix. One walk over the label boundaries; labels are split only if a glob bucket is hit.
   */
  match(host: string): string | null {
    const exact = this.#exact.get(host);
    if (exact !== undefined) return exact;
    const suffixes = this.#suffix;
    const globs = this.#globs;
    if (suffixes.size === 0 && globs.size === 0) return null;
    let globHit: string | null = null;
    let labels: string[] | null = null;
    let from = 0;
    // leftCount: labels of `host` left of the current suffix.
    for (let leftCount = 0; ; leftCount++) {
      const suffix = from === 0 ? host : host.slice(from);
      if (suffixes.size > 0) {
        const hit = suffixes.get(suffix);
        if (hit !== undefined) return hit;
      }
      if (globHit === null && leftCount > 0 && globs.size > 0) {
        const bucket = globs.get(suffix);
        if (bucket !== undefined) {
          labels ??= host.split('.');
          globHit = matchBucket(bucket, labels, leftCount);
        }
      }
      const dot = host.indexOf('.', from);
      if (dot === -1) break;
      from = dot + 1;
    }
    if (globHit === null) {
      const bucket = globs.get('');
      if (bucket !== undefined) {
        labels ??= host.split('.');
        globHit = matchBucket(bucket, labels, labels.length);
      }
    }
    return globHit;
  }
}

function matchBucket(
  bucket: readonly CompiledGlob[],
  labels: readonly string[],
  leftCount: number,
): string | null {
  for (const g of bucket) {
    if (g.hasMany ? leftCount < g.minLabels : leftCount !== g.minLabels) continue;
    if (matchLabels(g.left, 0, labels, 0, leftCount)) return g.entry;
  }
  return null;
}
