/**
 * Per-request metric updates as plain additions, merged into prom-client's series when they are scraped.
 *
 * prom-client's `inc`/`observe` (children included) build, validate and hash a label object on every call: about 3%
 * of the proxy's busy CPU at 1 KiB GETs (issue 12's profile). A tally is bound once to one label set; the hot path
 * only adds to its numbers, and the metric's `collect()` (run by prom-client before every exposition) hands what
 * was added since the last scrape to prom-client, so the exposition text is exactly what per-call updates made.
 */
import type client from 'prom-client';

/** A counter series' pending increments. */
export class CounterTally<L extends string> {
  pending = 0;
  constructor(readonly labels: client.LabelValues<L>) {}
}

/** Hands every tally's pending increments to `counter` (from its `collect()`). */
export function mergeCounters<L extends string>(
  counter: client.Counter<L>,
  tallies: Iterable<CounterTally<L>>,
): void {
  for (const t of tallies) {
    if (t.pending === 0) continue;
    counter.inc(t.labels, t.pending);
    t.pending = 0;
  }
}

/** prom-client's own record of one histogram series (`Histogram.hashMap` values, prom-client 15). */
interface HistogramSeries {
  labels: object;
  bucketValues: Record<number, number>;
  sum: number;
  count: number;
}

function sameLabels(a: object, b: object): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => (a as Record<string, unknown>)[k] === (b as Record<string, unknown>)[k]);
}

/** A histogram series' pending observations: per-bucket counts (not cumulative), sum and count. */
export class HistogramTally<L extends string> {
  readonly #bounds: readonly number[];
  /** counts[i]: observations <= bounds[i] and > bounds[i - 1]; the last slot is above every bound (+Inf). */
  readonly #counts: number[];
  #sum = 0;
  #count = 0;
  #series: HistogramSeries | null = null;

  constructor(
    readonly labels: client.LabelValues<L>,
    bounds: readonly number[],
  ) {
    this.#bounds = bounds;
    this.#counts = new Array<number>(bounds.length + 1).fill(0);
  }

  /** prom-client's bucket choice: the first bound the value does not exceed. */
  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const b = this.#bounds;
    let i = 0;
    while (i < b.length && value > (b[i] as number)) i++;
    (this.#counts as number[])[i] = ((this.#counts as number[])[i] as number) + 1;
    this.#sum += value;
    this.#count++;
  }

  /** Adds what was observed since the last merge to `histogram`'s series for these labels. */
  mergeInto(histogram: client.Histogram<L>): void {
    if (this.#count === 0) return;
    const map = (histogram as unknown as { hashMap: Record<string, HistogramSeries> }).hashMap;
    let series = this.#series;
    if (series === null || !Object.values(map).includes(series)) {
      series = Object.values(map).find((s) => sameLabels(s.labels, this.labels)) ?? null;
      if (series === null) {
        histogram.zero(this.labels);
        series = Object.values(map).find((s) => s.labels === this.labels) ?? null;
        if (series === null) throw new Error('prom-client histogram series not found after zero()');
      }
      this.#series = series;
    }
    const b = this.#bounds;
    for (let i = 0; i < b.length; i++) {
      const c = this.#counts[i] as number;
      if (c === 0) continue;
      const bound = b[i] as number;
      series.bucketValues[bound] = (series.bucketValues[bound] ?? 0) + c;
      this.#counts[i] = 0;
    }
    this.#counts[b.length] = 0;
    series.sum += this.#sum;
    series.count += this.#count;
    this.#sum = 0;
    this.#count = 0;
  }
}
