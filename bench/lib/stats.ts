/** Summary statistics of a benchmark's samples (nearest-rank percentiles, as most benchmark tools report). */

export interface Summary {
  count: number;
  min: number;
  median: number;
  p90: number;
  max: number;
}

/** The nearest-rank percentile `p` (0 < p ≤ 100) of already sorted samples. */
function percentileOfSorted(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  const value = sorted[rank - 1];
  if (value === undefined) throw new Error("no samples");
  return value;
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error("cannot summarize zero samples");
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
  return {
    count: sorted.length,
    min: sorted[0] ?? 0,
    median,
    p90: percentileOfSorted(sorted, 90),
    max: sorted[sorted.length - 1] ?? 0,
  };
}

export function fixed(value: number, digits = 1): string {
  return value.toFixed(digits);
}
