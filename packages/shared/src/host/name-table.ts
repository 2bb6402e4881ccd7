/**
 * The index behind DomainMatcher: one open-addressing hash table from a normalised name to everything listed
 * under it (the exact entry, the `.name` entry, the globs whose fixed suffix it is). A host is looked up at each
 * label boundary without slicing it: the hash of every suffix comes from one right-to-left pass over the host,
 * and each lookup passes (hash, host, start).
 *
 * Laid out for a list that does not fit in the CPU's caches (bench/README.md, "Allowlist flatness"): a bit filter
 * of 16 bits per name answers most absent names from one small array; a slot is 16 bytes of one Int32Array
 * (hash, index, key offset, key length and what the entry holds), so a present name costs the slot's cache line
 * and its key bytes in one Uint8Array, and the entry's strings are read only when the name is the one wanted.
 */
import type { CompiledGlob } from './label-glob.js';

/** What an entry holds, as bits of its slot: tested before the key is compared. */
export const HAS_EXACT = 1 << 16;
export const HAS_SUFFIX = 1 << 17;
export const HAS_GLOBS = 1 << 18;
/** The exact entry is written as the normalised name itself (so it equals the host that matched it). */
export const EXACT_IS_NAME = 1 << 19;
const LENGTH_MASK = 0xffff;

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** The start value of `hashStep`. */
export const HASH_START = FNV_OFFSET;

/** One character into a right-to-left FNV-1a hash: a suffix's hash does not depend on what is left of it. */
export function hashStep(h: number, c: number): number {
  return Math.imul(h ^ c, FNV_PRIME);
}

/** Murmur3's finaliser over the running hash, never 0 (0 marks an empty slot). */
export function finishHash(h: number): number {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x === 0 ? 1 : x;
}

/** The finished hash of a whole name: what the right-to-left pass gives for that name as a suffix of a host. */
export function hashName(name: string): number {
  let h = HASH_START;
  for (let i = name.length - 1; i >= 0; i--) h = hashStep(h, name.charCodeAt(i));
  return finishHash(h);
}

/**
 * Names (normalised, so ASCII) to entries. Slot `i` is `slots[4i .. 4i+3]` = (hash, index + 1, key offset in
 * `arena`, key length | entry bits); hash 0 = empty. Entries are dense arrays by index.
 */
export class NameTable {
  #slots: Int32Array;
  #mask: number;
  #filter: Int32Array;
  #filterShift: number;
  #arena = new Uint8Array(256);
  #arenaUsed = 0;
  readonly #keys: string[] = [];
  readonly #exact: (string | null)[] = [];
  readonly #suffix: (string | null)[] = [];
  readonly #globs: (CompiledGlob[] | null)[] = [];

  /** `expected`: about how many names will be added (the table grows past it anyway). */
  constructor(expected: number) {
    const capacity = powerOfTwoAtLeast(expected * 2, 8);
    this.#slots = new Int32Array(capacity * 4);
    this.#mask = capacity - 1;
    const bits = powerOfTwoAtLeast(expected * 16, 32);
    this.#filter = new Int32Array(bits >>> 5);
    this.#filterShift = 32 - Math.log2(bits);
  }

  /** How many names the table holds. */
  get size(): number {
    return this.#keys.length;
  }

  /** Lists `pattern` as the exact entry of `name` (the first one listed stays). */
  addExact(name: string, pattern: string): void {
    const slot = this.#slotFor(name);
    const index = (this.#slots[slot + 1] as number) - 1;
    if (this.#exact[index] !== null) return;
    this.#exact[index] = pattern;
    this.#setBits(slot, HAS_EXACT | (pattern === name ? EXACT_IS_NAME : 0));
  }

  /** Lists `pattern` as the `.name` entry of `name` (the first one listed stays). */
  addSuffix(name: string, pattern: string): void {
    const slot = this.#slotFor(name);
    const index = (this.#slots[slot + 1] as number) - 1;
    if (this.#suffix[index] !== null) return;
    this.#suffix[index] = pattern;
    this.#setBits(slot, HAS_SUFFIX);
  }

  /** Appends `glob` to the globs whose fixed suffix is `name`. */
  addGlob(name: string, glob: CompiledGlob): void {
    const slot = this.#slotFor(name);
    const index = (this.#slots[slot + 1] as number) - 1;
    const bucket = this.#globs[index];
    if (bucket === null || bucket === undefined) this.#globs[index] = [glob];
    else bucket.push(glob);
    this.#setBits(slot, HAS_GLOBS);
  }

  /**
   * The slot (an offset into the slots) of the name `host.slice(start)` whose finished hash is `hash`, if its
   * entry has any of the `wanted` bits; else -1. Slices nothing; compares key bytes only on a hash and bits match.
   */
  find(hash: number, host: string, start: number, wanted: number): number {
    const filter = this.#filter;
    const bit = hash >>> this.#filterShift;
    if (((filter[bit >>> 5] as number) & (1 << (bit & 31))) === 0) return -1;
    const slots = this.#slots;
    const mask = this.#mask;
    const length = host.length - start;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const s = i * 4;
      const h = slots[s] as number;
      if (h === 0) return -1;
      const meta = slots[s + 3] as number;
      // A slot without a wanted bit is passed over: if it is this name, no later slot is, and -1 follows.
      if (h !== hash || (meta & wanted) === 0 || (meta & LENGTH_MASK) !== length) continue;
      if (this.#keyEquals(slots[s + 2] as number, host, start, length)) return s;
    }
  }

  /** The entry bits of a slot `find` returned. */
  bitsAt(slot: number): number {
    return (this.#slots[slot + 3] as number) & ~LENGTH_MASK;
  }

  /** The exact entry at a slot `find` returned (HAS_EXACT set). */
  exactAt(slot: number): string {
    return this.#exact[(this.#slots[slot + 1] as number) - 1] as string;
  }

  /** The `.name` entry at a slot `find` returned (HAS_SUFFIX set). */
  suffixAt(slot: number): string {
    return this.#suffix[(this.#slots[slot + 1] as number) - 1] as string;
  }

  /** The globs at a slot `find` returned (HAS_GLOBS set). */
  globsAt(slot: number): readonly CompiledGlob[] {
    return this.#globs[(this.#slots[slot + 1] as number) - 1] as CompiledGlob[];
  }

  #setBits(slot: number, bits: number): void {
    this.#slots[slot + 3] = (this.#slots[slot + 3] as number) | bits;
  }

  #keyEquals(offset: number, host: string, start: number, length: number): boolean {
    const arena = this.#arena;
    for (let k = 0; k < length; k++) {
      if (arena[offset + k] !== host.charCodeAt(start + k)) return false;
    }
    return true;
  }

  /** The slot of `name`, added (with no entry bits) if the table has none. */
  #slotFor(name: string): number {
    const hash = hashName(name);
    const found = this.find(hash, name, 0, ~0);
    if (found !== -1) return found;
    if (name.length > LENGTH_MASK) throw new RangeError('name too long for the table');
    if ((this.#keys.length + 1) * 2 > this.#mask + 1) this.#grow();
    this.#keys.push(name);
    this.#exact.push(null);
    this.#suffix.push(null);
    this.#globs.push(null);
    return this.#place(hash, this.#keys.length - 1, this.#store(name), name.length);
  }

  /** Copies `name` into the arena and returns its offset. */
  #store(name: string): number {
    if (this.#arenaUsed + name.length > this.#arena.length) {
      const bigger = new Uint8Array(powerOfTwoAtLeast((this.#arenaUsed + name.length) * 2, 256));
      bigger.set(this.#arena);
      this.#arena = bigger;
    }
    const offset = this.#arenaUsed;
    for (let k = 0; k < name.length; k++) this.#arena[offset + k] = name.charCodeAt(k);
    this.#arenaUsed += name.length;
    return offset;
  }

  #place(hash: number, index: number, offset: number, meta: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = hash & mask;
    while (slots[i * 4] !== 0) i = (i + 1) & mask;
    const s = i * 4;
    slots[s] = hash;
    slots[s + 1] = index + 1;
    slots[s + 2] = offset;
    slots[s + 3] = meta;
    const bit = hash >>> this.#filterShift;
    this.#filter[bit >>> 5] = (this.#filter[bit >>> 5] as number) | (1 << (bit & 31));
    return s;
  }

  /** Doubles the slots and the filter and places every name again, keeping its offset and bits. */
  #grow(): void {
    const old = this.#slots;
    const capacity = (this.#mask + 1) * 2;
    this.#slots = new Int32Array(capacity * 4);
    this.#mask = capacity - 1;
    const bits = this.#filter.length * 32 * 2;
    this.#filter = new Int32Array(bits >>> 5);
    this.#filterShift = 32 - Math.log2(bits);
    for (let s = 0; s < old.length; s += 4) {
      if (old[s] === 0) continue;
      this.#place(old[s] as number, (old[s + 1] as number) - 1, old[s + 2] as number, old[s + 3] as number);
    }
  }
}

/** The least power of two >= max(min, n); `min` a power of two. */
function powerOfTwoAtLeast(n: number, min: number): number {
  let p = min;
  while (p < n) p *= 2;
  return p;
}
