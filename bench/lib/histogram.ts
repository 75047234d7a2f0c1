/**
 * Latency histogram with ~1% relative precision: buckets grow geometrically, so 10 µs and 10 s
 * both fit in under 2,000 counters. Generators fill one each; the parent merges them, which is
 * why percentiles are computed from counts and never from raw samples.
 */
const GROWTH = Math.log(1.01);
/** Values are microseconds; one bucket per 1% step from 1 µs up to about 10 minutes. */
const BUCKETS = Math.ceil(Math.log(600e6) / GROWTH) + 1;

export interface HistogramData {
  /** Sparse [bucket, count] pairs: small enough to send over IPC. */
  counts: [number, number][];
  maxMs: number;
  total: number;
}

export class Histogram {
  readonly #counts = new Uint32Array(BUCKETS);
  #max = 0;
  #total = 0;

  recordMs(ms: number): void {
    const us = ms > 0.001 ? ms * 1000 : 1;
    const index = Math.min(BUCKETS - 1, Math.floor(Math.log(us) / GROWTH));
    this.#counts[index]! += 1;
    this.#total += 1;
    if (ms > this.#max) this.#max = ms;
  }

  get total(): number {
    return this.#total;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#max = 0;
    this.#total = 0;
  }

  toData(): HistogramData {
    const counts: [number, number][] = [];
    this.#counts.forEach((count, index) => {
      if (count) counts.push([index, count]);
    });
    return { counts, maxMs: this.#max, total: this.#total };
  }

  static merge(parts: readonly HistogramData[]): HistogramData {
    const sum = new Map<number, number>();
    let maxMs = 0;
    let total = 0;
    for (const part of parts) {
      for (const [index, count] of part.counts) sum.set(index, (sum.get(index) ?? 0) + count);
      maxMs = Math.max(maxMs, part.maxMs);
      total += part.total;
    }
    const counts = [...sum.entries()].sort((a, b) => a[0] - b[0]);
    return { counts, maxMs, total };
  }
}

/** The upper edge of the bucket holding quantile `q` (0..1), in ms; the max for q = 1. */
export function quantileMs(data: HistogramData, q: number): number {
  if (!data.total) return NaN;
  if (q >= 1) return data.maxMs;
  const rank = Math.ceil(q * data.total);
  let seen = 0;
  for (const [index, count] of data.counts) {
    seen += count;
    if (seen >= rank) return Math.min(data.maxMs, Math.exp((index + 1) * GROWTH) / 1000);
  }
  return data.maxMs;
}

/** Points of the cumulative distribution, for charts: [latency ms, fraction at or below]. */
export function cdf(data: HistogramData): [number, number][] {
  const points: [number, number][] = [];
  let seen = 0;
  for (const [index, count] of data.counts) {
    seen += count;
    points.push([Math.min(data.maxMs, Math.exp((index + 1) * GROWTH) / 1000), seen / data.total]);
  }
  return points;
}
