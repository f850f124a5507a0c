/**
 * perf_analyzer's measurement loop, the deciding parts: when a run of measurement windows is
 * stable, and how the stable windows become the one reported measurement.
 *
 * Source read: triton-inference-server/perf_analyzer, src/inference_profiler.cc:
 * `ProfileHelper` (the loop), `DetermineStability`, `IsInferWindowStable`,
 * `IsLatencyWindowStable`, `IsDoneProfiling`, `CheckWithinThreshold`, `MergePerfStatusReports`,
 * `MergeServerSideStats`; src/command_line_parser.{h,cc} for the defaults (stability 10 %,
 * 3 windows, at most 10 trials, 5000 ms windows). The rules:
 *
 * - After every window, only the last `stability_window` (3) windows are looked at. They are stable
 *   when none has a throughput of 0 (a failed window is recorded as 0 infer/s and latency
 *   UINT64_MAX), and max / min <= 1 + stability_percentage / 100 for the throughputs and, separately,
 *   for the latencies. The percentage is parsed as a float: `std::stof(s) / 100` (kept here).
 *   The latency is the "stabilizing latency": the average, or the `--percentile` one if given.
 * - The loop stops when stable, or after `max_trials` windows (then it prints "Failed to obtain
 *   stable measurement within N measurement windows for concurrency C", leaves that level out of
 *   the results, and a linear concurrency sweep stops there), or, with `--latency-threshold`, as soon as one
 *   of the last 3 windows has a latency >= the threshold (`IsDoneProfiling`).
 *   In async mode a run that is stable by throughput alone is accepted, with a warning that the
 *   latency is not stabilising (`checkLatency: false` below).
 * - The reported measurement merges the last 3 windows (the stable ones): request counts and
 *   window durations are summed, so throughput = total inferences / total duration (a
 *   duration-weighted mean, not the mean of the three throughputs); latencies are pooled and
 *   summarised again (percentiles of the pooled set); server-side counts and times are summed, so
 *   each stage's mean is total time / total requests.
 */
import { summarizeLatencies, type LatencySummary, type StageBreakdownUs } from "./stats.js";

/** perf_analyzer's defaults. */
export const DEFAULT_STABILITY_PERCENT = 10;
export const DEFAULT_STABILITY_WINDOWS = 3;
export const DEFAULT_MAX_TRIALS = 10;

/** What the stability check looks at in one measurement window. */
export interface WindowMeasurement {
  /** Inferences per second in the window (0 for a failed window). */
  throughput: number;
  /** The stabilizing latency: the window's average (or the chosen percentile), microseconds. */
  avgLatencyUs: number;
}

export interface StabilityOptions {
  /** Whether latency must be stable too (perf_analyzer: yes, except its async fallback). */
  checkLatency?: boolean;
}

/** The 1 + threshold ratio bound, with the percentage as perf_analyzer parses it (float / 100). */
function ratioBound(stabilityPercent: number): number {
  return 1 + Math.fround(Math.fround(stabilityPercent) / 100);
}

function withinRatio(values: number[], bound: number): boolean {
  const max = Math.max(...values);
  const min = Math.min(...values);
  // x / 0 is Infinity and 0 / 0 NaN: both fail, as in the C++.
  return max / min <= bound;
}

/**
 * The index of the first of the last `needed` windows when those windows are stable by
 * perf_analyzer's rule; undefined when there are fewer windows or they are not stable. Call it
 * after each window, as perf_analyzer does: only the tail is judged, never an earlier run of
 * windows.
 */
export function stableWindows(
  windows: readonly WindowMeasurement[],
  stabilityPercent: number,
  needed: number = DEFAULT_STABILITY_WINDOWS,
  options: StabilityOptions = {},
): number | undefined {
  if (!Number.isInteger(needed) || needed < 1) throw new RangeError(`needed must be a positive integer, got ${needed}`);
  if (!(stabilityPercent >= 0)) throw new RangeError(`stability percentage must be >= 0, got ${stabilityPercent}`);
  if (windows.length < needed) return undefined;
  const start = windows.length - needed;
  const tail = windows.slice(start);
  if (tail.some((w) => w.throughput === 0 || !Number.isFinite(w.throughput))) return undefined;
  const bound = ratioBound(stabilityPercent);
  if (
    !withinRatio(
      tail.map((w) => w.throughput),
      bound,
    )
  )
    return undefined;
  if (
    (options.checkLatency ?? true) &&
    !withinRatio(
      tail.map((w) => w.avgLatencyUs),
      bound,
    )
  )
    return undefined;
  return start;
}

/**
 * The stable tail once the windows are over: `stableWindows`, or in open-loop (request-rate)
 * mode, as perf_analyzer's asynchronous mode does after its last trial, the tail stable in
 * throughput alone, flagged `latencyUnsettled` (latency grows while requests queue up).
 */
export function settledWindows(
  windows: readonly WindowMeasurement[],
  stabilityPercent: number,
  openLoop: boolean,
): { from?: number; latencyUnsettled: boolean } {
  const from = stableWindows(windows, stabilityPercent);
  if (from !== undefined || !openLoop) return { from, latencyUnsettled: false };
  const byThroughput = stableWindows(windows, stabilityPercent, DEFAULT_STABILITY_WINDOWS, { checkLatency: false });
  return { from: byThroughput, latencyUnsettled: byThroughput !== undefined };
}

/**
 * perf_analyzer's `--latency-threshold` stop: whether any of the last `needed` windows has a
 * latency at or over the threshold (false while there are fewer windows).
 */
export function exceedsLatencyThreshold(windows: readonly WindowMeasurement[], thresholdUs: number, needed: number = DEFAULT_STABILITY_WINDOWS): boolean {
  if (windows.length < needed) return false;
  return windows.slice(windows.length - needed).some((w) => !(w.avgLatencyUs < thresholdUs));
}

/**
 * perf_analyzer's `--measurement-mode count_windows`: a window ends once at least
 * `--measurement-request-count` requests have completed in it and it has lasted at least a second
 * (`InferenceProfiler::Measure` sleeps a second at a time until enough requests are collected; here
 * the count is checked more often, so a window ends closer to the count). Finished requests are
 * counted, failed ones included, so a run whose requests all fail still ends its windows.
 */
export const COUNT_WINDOW_MIN_MS = 1000;

/** Whether a count window is complete: at least `requests` finished and `minMs` (default 1 s) passed. */
export function countWindowComplete(elapsedMs: number, finished: number, window: { requests: number; minMs?: number }): boolean {
  return elapsedMs >= (window.minMs ?? COUNT_WINDOW_MIN_MS) && finished >= window.requests;
}

/** Batch sizes of a window: a histogram, or a record size -> executions (as BatchStats keeps it). */
export type BatchSizeCounts = readonly { value: number; count: number }[] | Readonly<Record<number, number>>;

/** Everything one window measured, for merging. */
export interface WindowData extends WindowMeasurement {
  /** The window's length, microseconds. */
  durationUs: number;
  /** Inferences completed in the window (the throughput's numerator). */
  inferences: number;
  /** Latency of each request completed in the window, microseconds. */
  latenciesUs: ArrayLike<number>;
  /** Sum over the same requests of each stage's time, microseconds. */
  breakdownSumUs?: StageBreakdownUs;
  /** Batch executions in the window. */
  executions?: number;
  batchSizes?: BatchSizeCounts;
  /** The highest resident set size seen in the window. */
  peakRssBytes?: number;
}

/** The reported measurement; its fields are named as PerfRow's. */
export interface MergedMeasurement {
  windows: number;
  durationUs: number;
  inferences: number;
  /** Total inferences / total duration, per second. */
  throughput: number;
  /** Summary of all windows' latencies pooled. */
  latency: LatencySummary;
  /** Mean per request of each stage: summed times / pooled request count. */
  breakdownUs: StageBreakdownUs;
  executions: number;
  batchSizes: { value: number; count: number }[];
  peakRssBytes: number;
}

function entries(counts: BatchSizeCounts): { value: number; count: number }[] {
  return Array.isArray(counts)
    ? (counts as { value: number; count: number }[])
    : Object.entries(counts).map(([value, count]) => ({ value: Number(value), count: count as number }));
}

/**
 * Merges windows into the reported measurement as `MergePerfStatusReports` does. Pass the stable
 * windows: `windows.slice(stableWindows(windows, pct)!)`.
 */
export function mergeWindows(windows: readonly WindowData[]): MergedMeasurement {
  if (windows.length === 0) throw new RangeError("no windows to merge");
  let durationUs = 0;
  let inferences = 0;
  let executions = 0;
  let peakRssBytes = 0;
  let requests = 0;
  const sum: StageBreakdownUs = { queue: 0, preprocess: 0, inference: 0, postprocess: 0 };
  const sizes = new Map<number, number>();
  for (const w of windows) {
    durationUs += w.durationUs;
    inferences += w.inferences;
    executions += w.executions ?? 0;
    peakRssBytes = Math.max(peakRssBytes, w.peakRssBytes ?? 0);
    requests += w.latenciesUs.length;
    if (w.breakdownSumUs) {
      sum.queue += w.breakdownSumUs.queue;
      sum.preprocess += w.breakdownSumUs.preprocess;
      sum.inference += w.breakdownSumUs.inference;
      sum.postprocess += w.breakdownSumUs.postprocess;
    }
    for (const { value, count } of entries(w.batchSizes ?? [])) sizes.set(value, (sizes.get(value) ?? 0) + count);
  }
  const pooled = new Float64Array(requests);
  let at = 0;
  for (const w of windows) {
    pooled.set(Float64Array.from(w.latenciesUs), at);
    at += w.latenciesUs.length;
  }
  // perf_analyzer: a stage's average is its summed time over its count, 0 when there is none.
  const mean = (total: number) => (requests > 0 ? total / requests : 0);
  return {
    windows: windows.length,
    durationUs,
    inferences,
    throughput: durationUs > 0 ? (inferences * 1e6) / durationUs : 0,
    latency: summarizeLatencies(pooled),
    breakdownUs: {
      queue: mean(sum.queue),
      preprocess: mean(sum.preprocess),
      inference: mean(sum.inference),
      postprocess: mean(sum.postprocess),
    },
    executions,
    batchSizes: [...sizes]
      .filter(([, count]) => count > 0)
      .map(([value, count]) => ({ value, count }))
      .sort((a, b) => a.value - b.value),
    peakRssBytes,
  };
}
