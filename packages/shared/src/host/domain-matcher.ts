/**
 * Domain patterns (Squid dstdomain plus label globs) compiled into one hash index keyed by name, so a lookup costs
 * one probe per label boundary of the host and not O(patterns):
 *   `name`        exact             -> the entry of `name`, probed with the whole host
 *   `.name`       name + subdomains -> the entry of `name`, probed at each label boundary of the host
 *   glob          `*` one label, `**` one or more, `ec2-*` inside a label
 *                 -> the entry of its fixed suffix (the labels right of the rightmost wildcard), then the few
 *                    globs there (label-glob.ts).
 * Patterns are normalised like hosts (IDNA, lowercase, one trailing dot) when compiled.
 */
import { type CompiledGlob, compileGlob, matchGlobBucket } from './label-glob.js';
import {
  EXACT_IS_NAME,
  finishHash,
  GLOB_COUNT_ONLY,
  GLOB_MANY,
  GLOB_MIN_SHIFT,
  HAS_EXACT,
  HAS_GLOBS,
  HAS_SUFFIX,
  HASH_START,
  hashStep,
  NameTable,
} from './name-table.js';
import { normalizeHost } from './normalize-host.js';

/**
 * Scratch for one `match` call: the start of each label of the host and the finished hash of the suffix that
 * starts there. Shared by every matcher (a call never yields); grown for a longer host.
 */
const scratch = { host: '', starts: new Int32Array(128), hashes: new Int32Array(128), count: 0 };

/** Fills `scratch` for `host`: label starts left to right, and each suffix's hash from one right-to-left pass. */
function hashSuffixes(host: string): void {
  if (host.length + 1 > scratch.starts.length) {
    scratch.starts = new Int32Array(host.length + 1);
    scratch.hashes = new Int32Array(host.length + 1);
  }
  const starts = scratch.starts;
  const hashes = scratch.hashes;
  let count = 0;
  for (let from = 0; ; ) {
    starts[count++] = from;
    const dot = host.indexOf('.', from);
    if (dot === -1) break;
    from = dot + 1;
  }
  let h = HASH_START;
  let end = host.length;
  for (let j = count - 1; j >= 0; j--) {
    const start = starts[j] as number;
    for (let i = end - 1; i >= start; i--) h = hashStep(h, host.charCodeAt(i));
    hashes[j] = finishHash(h);
    h = hashStep(h, 0x2e);
    end = start - 1;
  }
  scratch.host = host;
  scratch.count = count;
}

/** The bit of a label count in DomainMatcher's label-count masks: bit n for n labels, bit 31 for 31 or more. */
function countBit(labels: number): number {
  return 1 << Math.min(labels, 31);
}

/** `countBit` of a normalised name's label count. */
function labelCountBit(name: string): number {
  let labels = 1;
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) === 0x2e) labels++;
  return countBit(labels);
}

/** A compiled set of domain patterns. `match` returns the pattern as written in the config, or null. */
export class DomainMatcher {
  readonly #names: NameTable;
  /** Globs with no fixed suffix (`*.*`), matched against the whole host. */
  #rootGlobs: CompiledGlob[] | null = null;
  /** False when the list holds only exact names: then only the whole host is probed. */
  #hasSuffixOrGlob = false;
  /**
   * Label counts (bit `n` for n labels, bit 31 for 31 or more) of the names listed with an exact or `.name` entry,
   * probed with the whole host, and of those with a `.name` entry or globs, probed below it: a suffix whose label
   * count no name has is not looked up (at 100k rules each lookup reads a line of the filter).
   */
  #wholeCounts = 0;
  #partCounts = 0;
  readonly size: number;

  /** Compiles `patterns`; `onError(index, message)` receives each invalid one (which is then skipped). */
  constructor(patterns: readonly string[], onError: (index: number, message: string) => void) {
    this.#names = new NameTable(patterns.length);
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
    const bit = labelCountBit(n.host);
    this.#wholeCounts |= bit;
    if (isSuffix) {
      this.#names.addSuffix(n.host, pattern);
      this.#partCounts |= bit;
      this.#hasSuffixOrGlob = true;
    } else {
      this.#names.addExact(n.host, pattern);
    }
    return null;
  }

  #addGlob(pattern: string): string | null {
    const compiled = compileGlob(pattern);
    if (typeof compiled === 'string') return compiled;
    this.#hasSuffixOrGlob = true;
    if (compiled.suffix !== '') {
      this.#names.addGlob(compiled.suffix, compiled.glob);
      this.#partCounts |= labelCountBit(compiled.suffix);
    } else if (this.#rootGlobs === null) this.#rootGlobs = [compiled.glob];
    else this.#rootGlobs.push(compiled.glob);
    return null;
  }

  /**
   * The pattern that matches the normalised name `host`: exact first, then the longest `.name`, then the glob with
   * the longest fixed suffix (the first in list order among those). One lookup per label boundary, longest suffix
   * first; nothing is sliced or allocated.
   */
  match(host: string): string | null {
    hashSuffixes(host);
    const names = this.#names;
    const { starts, hashes, count } = scratch;
    // The filter for every suffix at once (its lines fetched together), then only the probes it lets through.
    const pass = names.filterPass(hashes, count);
    if ((this.#wholeCounts & countBit(count)) !== 0 && (pass & 1) !== 0) {
      const whole = names.probe(hashes[0] as number, host, 0, HAS_EXACT | HAS_SUFFIX);
      if (whole !== -1) {
        const bits = names.bitsAt(whole);
        // An exact entry written as the normalised name is equal to `host`: no need to read the entry.
        if ((bits & HAS_EXACT) !== 0) return (bits & EXACT_IS_NAME) !== 0 ? host : names.exactAt(whole);
        return names.suffixAt(whole);
      }
    }
    if (!this.#hasSuffixOrGlob) return null;
    let globHit: string | null = null;
    const partCounts = this.#partCounts;
    // j: the suffix starting at label j, which has j labels of the host left of it (and count - j of its own).
    for (let j = 1; j < count; j++) {
      if ((partCounts & countBit(count - j)) === 0) continue;
      const wanted = globHit === null ? HAS_SUFFIX | HAS_GLOBS : HAS_SUFFIX;
      const hash = hashes[j] as number;
      const start = starts[j] as number;
      let slot: number;
      if (j < 31) slot = (pass & (1 << j)) === 0 ? -1 : names.probe(hash, host, start, wanted);
      else slot = names.find(hash, host, start, wanted);
      if (slot === -1) continue;
      const bits = names.bitsAt(slot);
      if ((bits & HAS_SUFFIX) !== 0) return names.suffixAt(slot);
      if ((bits & GLOB_COUNT_ONLY) !== 0) {
        // One `*`/`**` glob: what matchGlobBucket decides from the label count, without reading the glob.
        const min = (bits >>> GLOB_MIN_SHIFT) & 0xff;
        if ((bits & GLOB_MANY) !== 0 ? j >= min : j === min) globHit = names.globEntryAt(slot);
      } else {
        globHit = matchGlobBucket(names.globsAt(slot), scratch, j);
      }
    }
    if (globHit === null && this.#rootGlobs !== null)
      globHit = matchGlobBucket(this.#rootGlobs, scratch, count);
    return globHit;
  }
}
