/**
 * Destination port lists as the config writes them: a port (`443`) or an inclusive range as text (`"1025-65535"`,
 * Squid's `acl Safe_ports port 1025-65535`). Compiled once into a `PortSet` whose `has` is a table lookup.
 */

/** One entry of a port list: a port number, or `"LOW-HIGH"` (both 1-65535, LOW <= HIGH). */
export type PortSpec = number | string;

const RANGE = /^([0-9]{1,5})-([0-9]{1,5})$/;

/** `[low, high]` of a valid entry, or the message saying why it is not one. */
export function parsePortSpec(spec: PortSpec): readonly [number, number] | string {
  if (typeof spec === 'number') {
    return Number.isInteger(spec) && spec >= 1 && spec <= 65535
      ? [spec, spec]
      : `port ${spec} is not 1-65535`;
  }
  const m = RANGE.exec(spec);
  // A string without a dash was meant as a port: say so the way the schema says it for other wrong types.
  if (m === null && !spec.includes('-')) return `expected number, got string "${spec}"`;
  if (m === null) return `"${spec}" is not a port range LOW-HIGH (e.g. "1025-65535")`;
  const lo = Number(m[1]);
  const hi = Number(m[2]);
  if (lo < 1 || hi > 65535) return `port range "${spec}" is outside 1-65535`;
  if (lo > hi) return `port range "${spec}" is empty (LOW above HIGH)`;
  return [lo, hi];
}

/** For a schema refinement: null if `spec` is a valid port or range, else the message. */
export function validatePortSpec(spec: PortSpec): string | null {
  const r = parsePortSpec(spec);
  return typeof r === 'string' ? r : null;
}

/** A compiled port list. */
export class PortSet {
  readonly #bits = new Uint8Array(65536);
  #size = 0;

  /** Builds the set from validated entries (an invalid entry throws). */
  constructor(specs: readonly PortSpec[] = []) {
    for (const s of specs) {
      const r = parsePortSpec(s);
      if (typeof r === 'string') throw new RangeError(r);
      this.addRange(r[0], r[1]);
    }
  }

  /** Adds LOW..HIGH inclusive. */
  addRange(lo: number, hi: number): void {
    for (let p = lo; p <= hi; p++) {
      if (this.#bits[p] === 0) {
        this.#bits[p] = 1;
        this.#size++;
      }
    }
  }

  has(port: number): boolean {
    return this.#bits[port] === 1;
  }

  /** How many ports are in the set. */
  get size(): number {
    return this.#size;
  }

  /** Every port 1-65535. */
  static all(): PortSet {
    const s = new PortSet();
    s.addRange(1, 65535);
    return s;
  }

  /** A new set: the ports in this one or `other`. */
  union(other: PortSet): PortSet {
    return this.#combine(other, (a, b) => a | b);
  }

  /** A new set: the ports in both. */
  intersect(other: PortSet): PortSet {
    return this.#combine(other, (a, b) => a & b);
  }

  /** A new set: the ports in this one and not in `other`. */
  minus(other: PortSet): PortSet {
    return this.#combine(other, (a, b) => a & (b ^ 1));
  }

  #combine(other: PortSet, op: (a: number, b: number) => number): PortSet {
    const out = new PortSet();
    const o = other.#bits;
    for (let p = 1; p <= 65535; p++) {
      if (op(this.#bits[p] as number, o[p] as number) === 1) {
        out.#bits[p] = 1;
        out.#size++;
      }
    }
    return out;
  }

  /** The set as the config writes it: single ports as numbers, runs of two or more as `"LOW-HIGH"`, ascending. */
  toSpecs(): PortSpec[] {
    const out: PortSpec[] = [];
    let p = 1;
    while (p <= 65535) {
      if (this.#bits[p] === 0) {
        p++;
        continue;
      }
      const lo = p;
      while (p < 65535 && this.#bits[p + 1] === 1) p++;
      out.push(lo === p ? lo : `${lo}-${p}`);
      p++;
    }
    return out;
  }
}
