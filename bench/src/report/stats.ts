/** Summary statistics for repeated rounds: the median is the figure, min and max show the spread. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Number of rounds summarised. */
  readonly n: number;
}

/** Median, min and max of `values` (NaN for an empty list). */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, n: sorted.length };
}

/** The q-quantile (0..1) of an ascending-sorted list, nearest-rank. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Half the min-max range as a percentage of the median: the "±" shown next to a median. */
export function spreadPercent(s: Summary): number {
  if (!Number.isFinite(s.median) || s.median === 0) return Number.NaN;
  return ((s.max - s.min) / 2 / Math.abs(s.median)) * 100;
}
