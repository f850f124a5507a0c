/**
 * Latency statistics of `emb perf`, defined as Triton's perf_analyzer defines them, so that numbers
 * from the two tools can be set side by side.
 *
 * Source read: triton-inference-server/perf_analyzer, src/inference_profiler.cc,
 * `InferenceProfiler::SummarizeLatency` and `InferenceProfiler::GetMeanAndStdDev` (and their tests
 * in src/test_inference_profiler.cc, "testing the GetMeanAndStdDev function"). What it does:
 *
 * - Latencies are sorted ascending. The p-th percentile (p in 50, 90, 95, 99) is the element at
 *   index `floor((p / 100) * (n - 1) + 0.5)`: the nearest rank over n - 1 intervals, halves rounded
 *   up, never interpolated. So p50 of an even count is the upper of the two middle elements.
 * - The average is the plain mean; the standard deviation is the *sample* one (divisor n - 1).
 *   With a single latency perf_analyzer sets it to UINT64_MAX and warns that it is infinity: here it
 *   is `Infinity`. With no latency at all it fails ("No valid requests recorded within time
 *   interval"): here a RangeError.
 *
 * One deliberate difference: perf_analyzer holds latencies as integer nanoseconds, truncates the
 * mean to a whole nanosecond and the standard deviation to a whole microsecond. These functions
 * take microseconds (fractional allowed) and keep full double precision; rounding is left to the
 * report (whose CSV truncates to whole microseconds as perf_analyzer's does).
 */

/** The percentiles perf_analyzer always reports. */
export const PERCENTILES = [50, 90, 95, 99] as const;

export interface LatencySummary {
  count: number;
  avgUs: number;
  /** Sample standard deviation (n - 1); Infinity for a single latency, as perf_analyzer. */
  stdUs: number;
  minUs: number;
  maxUs: number;
  p50Us: number;
  p90Us: number;
  p95Us: number;
  p99Us: number;
}

/** The mean of each stage of a request, in microseconds: perf_analyzer's server-side breakdown. */
export interface StageBreakdownUs {
  /** Waiting for admission and in the batcher's queue (perf_analyzer's "Server Queue"). */
  queue: number;
  /** Decoding, resizing, tokenising ("Server Compute Input"). */
  preprocess: number;
  /** The model run of the request's batch ("Server Compute Infer"). */
  inference: number;
  /** Turning outputs into answers ("Server Compute Output"). */
  postprocess: number;
}

/** Index of the p-th percentile in a sorted array of n values, perf_analyzer's rule. */
export function percentileIndex(percentile: number, n: number): number {
  if (!(n > 0)) throw new RangeError(`percentile of an empty set`);
  if (!(percentile >= 0 && percentile <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${percentile}`);
  // Same double arithmetic as the C++ (size_t)((p / 100.0) * (n - 1) + 0.5).
  return Math.floor((percentile / 100) * (n - 1) + 0.5);
}

/** The p-th percentile of values already sorted ascending. */
export function percentileOfSorted(sorted: ArrayLike<number>, percentile: number): number {
  return sorted[percentileIndex(percentile, sorted.length)];
}

export function summarizeLatencies(latenciesUs: ArrayLike<number>): LatencySummary {
  const n = latenciesUs.length;
  if (n === 0) {
    throw new RangeError("No valid requests recorded within the measurement window: no latency to summarise");
  }
  const sorted = Float64Array.from(latenciesUs);
  for (const x of sorted) {
    if (!Number.isFinite(x)) throw new RangeError(`latency must be a finite number, got ${x}`);
  }
  sorted.sort(); // typed arrays sort numerically

  let sum = 0;
  for (const x of sorted) sum += x;
  const avgUs = sum / n;
  let squares = 0;
  for (const x of sorted) squares += (x - avgUs) * (x - avgUs);
  const stdUs = n > 1 ? Math.sqrt(squares / (n - 1)) : Infinity;

  return {
    count: n,
    avgUs,
    stdUs,
    minUs: sorted[0],
    maxUs: sorted[n - 1],
    p50Us: percentileOfSorted(sorted, 50),
    p90Us: percentileOfSorted(sorted, 90),
    p95Us: percentileOfSorted(sorted, 95),
    p99Us: percentileOfSorted(sorted, 99),
  };
}

/** How often each value occurs, ascending by value (batch sizes: size -> executions). */
export function histogram(values: number[]): { value: number; count: number }[] {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([value, count]) => ({ value, count })).sort((a, b) => a.value - b.value);
}
