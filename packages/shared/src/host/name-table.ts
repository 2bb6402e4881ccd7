/**
 * The index behind DomainMatcher: one open-addressing hash table from a normalised name to everything listed
 * under it (the exact entry, the `.name` entry, the globs whose fixed suffix it is). A host is looked up at each
 * label boundary without slicing it: the hash of every suffix comes from one right-to-left pass over the host,
 * and each lookup passes (hash, host, start).
 *
 * Laid out for a list that does not fit in the CPU's caches (bench/README.md, "Allowlist flatness"): a bit filter
 * of 8 bits per name (two bits of one 32-bit word each, ~5% false positives) answers most absent names from one
 * small array; a slot is 64 bytes of one Int32Array, a
 * cache line (hash, index, key length and what the entry holds, then the key's first 48 bytes), so a present name
 * costs the filter's line and its slot's line, and the entry's strings are read only when the name is the one
 * wanted. Keys longer than 48 bytes are compared in one Uint8Array beside the slots.
 */
import type { CompiledGlob } from './label-glob.js';

/** What an entry holds, as bits of its slot: tested before the key is compared. */
export const HAS_EXACT = 1 << 16;
export const HAS_SUFFIX = 1 << 17;
export const HAS_GLOBS = 1 << 18;
/** The exact entry is written as the normalised name itself (so it equals the host that matched it). */
export const EXACT_IS_NAME = 1 << 19;
/**
 * The globs are one glob of only `*` and `**` labels (`*.name`, `**.name`), decided by the label count alone:
 * GLOB_MANY says it has a `**`, and the 8 bits from GLOB_MIN_SHIFT hold its least count. Then a hit reads no
 * CompiledGlob, only its pattern (`globEntryAt`).
 */
export const GLOB_COUNT_ONLY = 1 << 20;
export const GLOB_MANY = 1 << 21;
export const GLOB_MIN_SHIFT = 22;
const GLOB_SHAPE = GLOB_COUNT_ONLY | GLOB_MANY | (0xff << GLOB_MIN_SHIFT);
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

/** Int32s per slot: 16, 64 bytes (one cache line when the buffer is line-aligned). */
const SLOT_INTS = 16;
/** Where the key's bytes start in a slot, in bytes, and how many fit there. */
const KEY_AT = 16;
const INLINE_KEY = SLOT_INTS * 4 - KEY_AT;

/**
 * Names (normalised, so ASCII) to entries. Slot `i` is `slots[16i .. 16i+15]` = (hash, index + 1, key length |
 * entry bits, key offset in `arena` or -1, then the key's bytes when it is at most 48 long); hash 0 = empty.
 * Entries are dense arrays by index.
 */
export class NameTable {
  #slots: Int32Array;
  /** The same memory as `#slots`, as bytes: the inline keys. */
  #slotBytes: Uint8Array;
  #mask: number;
  #filter: Int32Array;
  #filterShift: number;
  #arena = new Uint8Array(64);
  #arenaUsed = 0;
  readonly #keys: string[] = [];
  readonly #exact: (string | null)[] = [];
  readonly #suffix: (string | null)[] = [];
  readonly #globs: (CompiledGlob[] | null)[] = [];
  /** The pattern of the first glob, for GLOB_COUNT_ONLY. */
  readonly #globEntry: (string | null)[] = [];

  /** `expected`: about how many names will be added (the table grows past it anyway). */
  constructor(expected: number) {
    const capacity = powerOfTwoAtLeast(expected * 2, 8);
    this.#slots = new Int32Array(capacity * SLOT_INTS);
    this.#slotBytes = new Uint8Array(this.#slots.buffer);
    this.#mask = capacity - 1;
    // At least 2 words: the word is `hash >>> (32 - log2(words))`, and a shift by 32 is a shift by 0.
    const words = powerOfTwoAtLeast(expected / 4, 2);
    this.#filter = new Int32Array(words);
    this.#filterShift = 32 - Math.log2(words);
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
    if (bucket === null || bucket === undefined) {
      this.#globs[index] = [glob];
      this.#globEntry[index] = glob.entry;
      const countOnly = glob.countOnly && glob.minLabels <= 0xff;
      const shape = countOnly
        ? GLOB_COUNT_ONLY | (glob.hasMany ? GLOB_MANY : 0) | (glob.minLabels << GLOB_MIN_SHIFT)
        : 0;
      this.#setBits(slot, HAS_GLOBS | shape);
    } else {
      bucket.push(glob);
      this.#slots[slot + 2] = (this.#slots[slot + 2] as number) & ~GLOB_SHAPE;
    }
  }

  /**
   * The slot (an offset into the slots) of the name `host.slice(start)` whose finished hash is `hash`, if its
   * entry has any of the `wanted` bits; else -1. Slices nothing; compares key bytes only on a hash and bits match.
   */
  find(hash: number, host: string, start: number, wanted: number): number {
    const bits = filterBits(hash);
    if (((this.#filter[hash >>> this.#filterShift] as number) & bits) !== bits) return -1;
    return this.probe(hash, host, start, wanted);
  }

  /**
   * Bit j (for j < min(count, 31)) set when `hashes[j]` passes the filter. Every word is read in one pass without
   * a branch on what it holds, so at 100k names the filter lines a host needs are fetched together, not one
   * after the other (`pnpm bench allowlist --sizes 10,100000`, 2026-12-02 06:00: 100k rules 357-420 ns against
   * 408-524 with one filter read per probe, bench/README.md "allowlist, the filter read at once").
   */
  filterPass(hashes: Int32Array, count: number): number {
    const filter = this.#filter;
    const shift = this.#filterShift;
    const n = Math.min(count, 31);
    let pass = 0;
    for (let j = 0; j < n; j++) {
      const h = hashes[j] as number;
      const bits = filterBits(h);
      const missing = ((filter[h >>> shift] as number) & bits) ^ bits;
      // 1 when nothing is missing, without a branch: (x | -x) has its sign bit set for every x but 0.
      pass |= (((missing | -missing) >>> 31) ^ 1) << j;
    }
    return pass;
  }

  /** `find` without the filter: for a hash `filterPass` let through. */
  probe(hash: number, host: string, start: number, wanted: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    const length = host.length - start;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const s = i * SLOT_INTS;
      const h = slots[s] as number;
      if (h === 0) return -1;
      const meta = slots[s + 2] as number;
      // A slot without a wanted bit is passed over: if it is this name, no later slot is, and -1 follows.
      if (h !== hash || (meta & wanted) === 0 || (meta & LENGTH_MASK) !== length) continue;
      if (this.#keyEquals(s, host, start, length)) return s;
    }
  }

  /** The entry bits of a slot `find` returned. */
  bitsAt(slot: number): number {
    return (this.#slots[slot + 2] as number) & ~LENGTH_MASK;
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

  /** The pattern of the only glob at a slot `find` returned (GLOB_COUNT_ONLY set). */
  globEntryAt(slot: number): string {
    return this.#globEntry[(this.#slots[slot + 1] as number) - 1] as string;
  }

  #setBits(slot: number, bits: number): void {
    this.#slots[slot + 2] = (this.#slots[slot + 2] as number) | bits;
  }

  #keyEquals(slot: number, host: string, start: number, length: number): boolean {
    let bytes = this.#slotBytes;
    let at = slot * 4 + KEY_AT;
    if (length > INLINE_KEY) {
      bytes = this.#arena;
      at = this.#slots[slot + 3] as number;
    }
    for (let k = 0; k < length; k++) {
      if (bytes[at + k] !== host.charCodeAt(start + k)) return false;
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
    this.#globEntry.push(null);
    const offset = name.length > INLINE_KEY ? this.#store(name) : -1;
    const slot = this.#place(hash, this.#keys.length - 1, name.length, offset);
    if (offset === -1) {
      const at = slot * 4 + KEY_AT;
      for (let k = 0; k < name.length; k++) this.#slotBytes[at + k] = name.charCodeAt(k);
    }
    return slot;
  }

  /** Copies a long `name` into the arena and returns its offset. */
  #store(name: string): number {
    if (this.#arenaUsed + name.length > this.#arena.length) {
      const bigger = new Uint8Array(powerOfTwoAtLeast((this.#arenaUsed + name.length) * 2, 64));
      bigger.set(this.#arena);
      this.#arena = bigger;
    }
    const offset = this.#arenaUsed;
    for (let k = 0; k < name.length; k++) this.#arena[offset + k] = name.charCodeAt(k);
    this.#arenaUsed += name.length;
    return offset;
  }

  /** Takes the first free slot from `hash` on for the header; the caller writes an inline key. */
  #place(hash: number, index: number, meta: number, offset: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = hash & mask;
    while (slots[i * SLOT_INTS] !== 0) i = (i + 1) & mask;
    const s = i * SLOT_INTS;
    slots[s] = hash;
    slots[s + 1] = index + 1;
    slots[s + 2] = meta;
    slots[s + 3] = offset;
    const word = hash >>> this.#filterShift;
    this.#filter[word] = (this.#filter[word] as number) | filterBits(hash);
    return s;
  }

  /** Doubles the slots and the filter and places every name again, keeping its bits and key. */
  #grow(): void {
    const old = this.#slots;
    const capacity = (this.#mask + 1) * 2;
    this.#slots = new Int32Array(capacity * SLOT_INTS);
    this.#slotBytes = new Uint8Array(this.#slots.buffer);
    this.#mask = capacity - 1;
    const words = this.#filter.length * 2;
    this.#filter = new Int32Array(words);
    this.#filterShift = 32 - Math.log2(words);
    for (let s = 0; s < old.length; s += SLOT_INTS) {
      if (old[s] === 0) continue;
      const to = this.#place(
        old[s] as number,
        (old[s + 1] as number) - 1,
        old[s + 2] as number,
        old[s + 3] as number,
      );
      this.#slots.set(old.subarray(s + KEY_AT / 4, s + SLOT_INTS), to + KEY_AT / 4);
    }
  }
}

/** A name's two bits in its filter word (the word is chosen by the hash's top bits, these by its low ten). */
function filterBits(hash: number): number {
  return (1 << (hash & 31)) | (1 << ((hash >>> 5) & 31));
}

/** The least power of two >= max(min, n); `min` a power of two. */
function powerOfTwoAtLeast(n: number, min: number): number {
  let p = min;
  while (p < n) p *= 2;
  return p;
}
