/**
 * Label globs (`*.name`, `**.name`, `ec2-*.name`, `ec2.*.name`): compiled into one matcher per label left of the
 * fixed suffix, and matched on label positions in the host, so a match slices no string. Used by DomainMatcher,
 * which indexes each glob under its fixed suffix (the labels right of the rightmost wildcard).
 */
import { normalizeHost } from './normalize-host.js';

/** One label of a glob: `*` (one label), `**` (one or more), a literal, or a label with `*` inside. */
type LabelMatcher =
  | { readonly t: 'one' }
  | { readonly t: 'many' }
  | { readonly t: 'lit'; readonly v: string }
  | {
      readonly t: 'wild';
      readonly prefix: string;
      readonly middle: readonly string[];
      readonly suffix: string;
    };

/** A compiled glob: the pattern as written, and its matchers for the labels left of the fixed suffix. */
export interface CompiledGlob {
  readonly entry: string;
  /** Matchers for the labels left of the fixed suffix, left to right. */
  readonly left: readonly LabelMatcher[];
  readonly minLabels: number;
  readonly hasMany: boolean;
  /** Every left label is `*` or `**` (`*.name`, `**.name`): the label count alone decides. */
  readonly countOnly: boolean;
}

/** A compiled glob and its fixed suffix (normalised; '' when the rightmost label is a wildcard). */
export interface GlobParts {
  readonly glob: CompiledGlob;
  readonly suffix: string;
}

const GLOB_LABEL = /^[a-z0-9_*-]+$/;

/** Compiles `pattern` (it contains `*`); returns the error message for a bad one. */
export function compileGlob(pattern: string): GlobParts | string {
  const body = pattern.endsWith('.') ? pattern.slice(0, -1) : pattern;
  if (body.startsWith('.')) return `"${pattern}": a glob cannot start with "." (write "**.name" or "*.name")`;
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
      // The label holds only [a-z0-9_-] and single `*`s, so `*` is "any run of label characters": a prefix, a
      // suffix and the parts between, found leftmost in order (what minimatch compiled before, without a slice).
      const parts = l.split('*');
      left.push({
        t: 'wild',
        prefix: parts[0] as string,
        middle: parts.slice(1, -1),
        suffix: parts[parts.length - 1] as string,
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
  const countOnly = left.every((m) => m.t === 'one' || m.t === 'many');
  return { glob: { entry: pattern, left, minLabels: left.length, hasMany, countOnly }, suffix };
}

/**
 * The labels of a host as positions: label `j` is `host[starts[j], end)` where `end` is `starts[j + 1] - 1`, or
 * the host's length for the last label.
 */
export interface LabelPositions {
  readonly host: string;
  readonly starts: Int32Array;
  readonly count: number;
}

function labelEnd(at: LabelPositions, j: number): number {
  return j + 1 < at.count ? (at.starts[j + 1] as number) - 1 : at.host.length;
}

function matchWild(m: Extract<LabelMatcher, { t: 'wild' }>, host: string, s: number, e: number): boolean {
  const tail = e - m.suffix.length;
  if (tail - s < m.prefix.length) return false;
  if (!host.startsWith(m.prefix, s) || !host.startsWith(m.suffix, tail)) return false;
  let pos = s + m.prefix.length;
  for (const part of m.middle) {
    const found = host.indexOf(part, pos);
    if (found === -1 || found + part.length > tail) return false;
    pos = found + part.length;
  }
  return true;
}

function matchLabels(
  ms: readonly LabelMatcher[],
  mi: number,
  at: LabelPositions,
  li: number,
  end: number,
): boolean {
  for (; mi < ms.length; mi++, li++) {
    const m = ms[mi] as LabelMatcher;
    if (m.t === 'many') {
      // `**` takes one or more labels; try every split (patterns are short).
      const restMin = ms.length - mi - 1;
      for (let take = 1; li + take + restMin <= end; take++) {
        if (matchLabels(ms, mi + 1, at, li + take, end)) return true;
      }
      return false;
    }
    if (li >= end) return false;
    if (m.t === 'one') continue;
    const s = at.starts[li] as number;
    const e = labelEnd(at, li);
    if (m.t === 'lit' ? e - s !== m.v.length || !at.host.startsWith(m.v, s) : !matchWild(m, at.host, s, e))
      return false;
  }
  return li === end;
}

/**
 * The first glob of `bucket` (in list order) that matches the `leftCount` leftmost labels of the host, or null.
 * The bucket's fixed suffix has already matched the rest.
 */
export function matchGlobBucket(
  bucket: readonly CompiledGlob[],
  at: LabelPositions,
  leftCount: number,
): string | null {
  for (const g of bucket) {
    if (g.hasMany ? leftCount < g.minLabels : leftCount !== g.minLabels) continue;
    if (g.countOnly || matchLabels(g.left, 0, at, 0, leftCount)) return g.entry;
  }
  return null;
}
