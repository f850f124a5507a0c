import { describe, expect, it } from "vitest";
import {
  COUNT_WINDOW_MIN_MS,
  countWindowComplete,
  exceedsLatencyThreshold,
  mergeWindows,
  settledWindows,
  stableWindows,
  type WindowData,
  type WindowMeasurement,
} from "../../src/perf/stability.js";

const windows = (throughput: number[], latency: number[]): WindowMeasurement[] => throughput.map((t, i) => ({ throughput: t, avgLatencyUs: latency[i] }));
const ones = (n: number) => Array.from({ length: n }, () => 1);

// The cases of perf_analyzer's test_inference_profiler.cc "test_check_window_for_stability" and
// "test_determine_stability", at its default 10 %.
describe("stableWindows", () => {
  it("stable: the last three windows within 10 % in both throughput and latency", () => {
    expect(stableWindows(windows([500, 520, 510], [1, 1, 1]), 10)).toBe(0);
    expect(stableWindows(windows([500, 520, 510], [100, 104, 108]), 10)).toBe(0);
  });

  it("unstable by throughput", () => {
    expect(stableWindows(windows([1, 1000, 500], ones(3)), 10)).toBeUndefined();
    // 560 / 500 = 1.12 > 1.1
    expect(stableWindows(windows([500, 560, 530], [100, 100, 100]), 10)).toBeUndefined();
  });

  it("unstable by latency: 112 / 100 = 1.12 > 1.1", () => {
    expect(stableWindows(windows([500, 520, 510], [100, 106, 112]), 10)).toBeUndefined();
  });

  it("stable by throughput alone when latency is not checked (perf_analyzer's async fallback)", () => {
    expect(stableWindows(windows([500, 520, 510], [100, 106, 112]), 10, 3, { checkLatency: false })).toBe(0);
  });

  it("becoming stable late: the index of the first of the last three windows", () => {
    expect(stableWindows(windows([1, 1000, 500, 1500, 500, 520, 510], ones(7)), 10)).toBe(4);
  });

  it("judges only the tail: an earlier stable run does not count", () => {
    expect(stableWindows(windows([500, 520, 510, 1000], ones(4)), 10)).toBeUndefined();
  });

  it("needs `needed` windows", () => {
    expect(stableWindows([], 10)).toBeUndefined();
    expect(stableWindows(windows([500, 510], [1, 1]), 10)).toBeUndefined();
  });

  it("other window counts", () => {
    const lat = [100, 104, 108, 102, 106];
    expect(stableWindows(windows([500, 520, 510, 505, 515], lat), 10, 5)).toBe(0);
    expect(stableWindows(windows([1, 1000, 510, 505, 515], lat), 10, 5)).toBeUndefined();
    expect(stableWindows(windows([1, 1000, 510, 505, 515], lat), 10, 3)).toBe(2);
    expect(stableWindows(windows([500, 1000, 1, 505, 515], lat), 10, 2)).toBe(3);
  });

  it("a window with no throughput (a failed window) is never stable", () => {
    expect(stableWindows(windows([500, 0, 510], ones(3)), 10)).toBeUndefined();
    expect(stableWindows(windows([0, 0, 0], ones(3)), 10)).toBeUndefined();
  });

  it("a zero latency makes max / min infinite: unstable", () => {
    expect(stableWindows(windows([500, 500, 500], [0, 1, 1]), 10)).toBeUndefined();
  });

  it("the bound is inclusive, with the percentage parsed as a float as perf_analyzer does", () => {
    expect(stableWindows(windows([100, 110, 105], ones(3)), 10)).toBe(0); // exactly 1.1
    // 1 + float(0.1) = 1.1000000015: a ratio of 1.100000001 passes, 1.10000001 does not.
    expect(stableWindows(windows([100, 110.0000001, 105], ones(3)), 10)).toBe(0);
    expect(stableWindows(windows([100, 110.000001, 105], ones(3)), 10)).toBeUndefined();
    expect(stableWindows(windows([100, 100, 100], [7, 7, 7]), 0)).toBe(0);
    expect(stableWindows(windows([100, 100, 100.001], [7, 7, 7]), 0)).toBeUndefined();
    expect(stableWindows(windows([100, 140, 120], [10, 12, 14]), 50)).toBe(0);
  });

  it("refuses nonsense arguments", () => {
    expect(() => stableWindows(windows([1, 1, 1], ones(3)), -1)).toThrow(RangeError);
    expect(() => stableWindows(windows([1, 1, 1], ones(3)), 10, 0)).toThrow(RangeError);
  });
});

describe("settledWindows (the end of the trials)", () => {
  const growing = windows([500, 520, 510], [100, 130, 170]); // latency 1.7 apart, throughput 1.04

  it("open loop (request rate): throughput alone will do, flagged as latency not settled, as perf_analyzer's async mode", () => {
    expect(settledWindows(growing, 10, true)).toEqual({ from: 0, latencyUnsettled: true });
  });

  it("closed loop (concurrency): both must settle", () => {
    expect(settledWindows(growing, 10, false)).toEqual({ from: undefined, latencyUnsettled: false });
  });

  it("stable in both is not flagged; unstable in throughput is unstable either way", () => {
    expect(settledWindows(windows([500, 520, 510], ones(3)), 10, true)).toEqual({ from: 0, latencyUnsettled: false });
    expect(settledWindows(windows([500, 600, 510], ones(3)), 10, true)).toEqual({ from: undefined, latencyUnsettled: false });
  });
});

describe("exceedsLatencyThreshold (perf_analyzer's --latency-threshold stop)", () => {
  it("is true when one of the last three windows reaches the threshold", () => {
    expect(exceedsLatencyThreshold(windows([500, 520, 510], [2000, 2000, 2000]), 1000)).toBe(true);
    expect(exceedsLatencyThreshold(windows([500, 520, 510], [100, 1000, 100]), 1000)).toBe(true); // not <
    expect(exceedsLatencyThreshold(windows([500, 520, 510], [100, 100, 100]), 1000)).toBe(false);
    expect(exceedsLatencyThreshold(windows([500, 520, 510, 500], [5000, 100, 100, 100]), 1000)).toBe(false);
    expect(exceedsLatencyThreshold(windows([500, 510], [5000, 5000]), 1000)).toBe(false);
  });
});

describe("mergeWindows (MergePerfStatusReports)", () => {
  const merged = () =>
    mergeWindows([
      {
        throughput: 100,
        avgLatencyUs: 20,
        durationUs: 2_000_000,
        inferences: 200,
        latenciesUs: [30, 10],
        breakdownSumUs: { queue: 20, preprocess: 10, inference: 40, postprocess: 2 },
        executions: 3,
        batchSizes: [
          { value: 1, count: 2 },
          { value: 2, count: 1 },
        ],
        peakRssBytes: 1000,
      },
      {
        throughput: 130,
        avgLatencyUs: 35,
        durationUs: 1_000_000,
        inferences: 130,
        latenciesUs: new Float64Array([20, 50]),
        breakdownSumUs: { queue: 10, preprocess: 10, inference: 40, postprocess: 4 },
        executions: 4,
        batchSizes: { 2: 3, 4: 1 },
        peakRssBytes: 3000,
      },
      {
        throughput: 110,
        avgLatencyUs: 40,
        durationUs: 1_000_000,
        inferences: 110,
        latenciesUs: [40],
        breakdownSumUs: { queue: 0, preprocess: 5, inference: 20, postprocess: 4 },
        executions: 1,
        batchSizes: { 1: 1, 8: 0 },
        peakRssBytes: 2000,
      },
    ] satisfies WindowData[]);

  it("throughput is total inferences over total time, not the mean of the windows' throughputs", () => {
    const m = merged();
    expect(m.windows).toBe(3);
    expect(m.durationUs).toBe(4_000_000);
    expect(m.inferences).toBe(440);
    expect(m.throughput).toBeCloseTo(110, 12); // the mean of 100, 130, 110 would be 113.3
  });

  it("latencies are pooled and summarised again", () => {
    const { latency } = merged();
    // pooled: 10 20 30 40 50
    expect(latency.count).toBe(5);
    expect(latency.avgUs).toBe(30);
    expect(latency.stdUs).toBeCloseTo(Math.sqrt(250), 12); // (400 + 100 + 0 + 100 + 400) / 4
    expect([latency.minUs, latency.p50Us, latency.p90Us, latency.p95Us, latency.p99Us, latency.maxUs]).toEqual([10, 30, 50, 50, 50, 50]);
  });

  it("stage times are summed and divided by the pooled request count", () => {
    expect(merged().breakdownUs).toEqual({ queue: 6, preprocess: 5, inference: 20, postprocess: 2 });
  });

  it("executions and batch sizes are summed, peak RSS is the highest", () => {
    const m = merged();
    expect(m.executions).toBe(8);
    expect(m.batchSizes).toEqual([
      { value: 1, count: 3 },
      { value: 2, count: 4 },
      { value: 4, count: 1 },
    ]);
    expect(m.peakRssBytes).toBe(3000);
  });

  it("merges the stable tail that stableWindows points at", () => {
    const all: WindowData[] = [900, 500, 520, 510].map((t) => ({ throughput: t, avgLatencyUs: 10, durationUs: 1_000_000, inferences: t, latenciesUs: [10] }));
    const start = stableWindows(all, 10);
    expect(start).toBe(1);
    const m = mergeWindows(all.slice(start));
    expect(m.throughput).toBeCloseTo(510, 12);
    expect(m.breakdownUs).toEqual({ queue: 0, preprocess: 0, inference: 0, postprocess: 0 });
    expect(m.executions).toBe(0);
    expect(m.batchSizes).toEqual([]);
  });

  it("refuses nothing to merge, and windows without latencies (perf_analyzer: no valid requests)", () => {
    expect(() => mergeWindows([])).toThrow(RangeError);
    expect(() => mergeWindows([{ throughput: 0, avgLatencyUs: 0, durationUs: 1, inferences: 0, latenciesUs: [] }])).toThrow(RangeError);
  });
});

describe("count windows (--measurement-mode count_windows)", () => {
  it("a window ends once it has the request count and has lasted a second", () => {
    const window = { requests: 50 };
    expect(COUNT_WINDOW_MIN_MS).toBe(1000);
    expect(countWindowComplete(999, 500, window)).toBe(false); // enough requests, too short
    expect(countWindowComplete(1000, 50, window)).toBe(true);
    expect(countWindowComplete(30_000, 49, window)).toBe(false); // long, too few
    expect(countWindowComplete(250, 3, { requests: 3, minMs: 200 })).toBe(true);
  });

  /** A count window: `requests` requests finished over `seconds`, all with the same latency. */
  const countWindow = (requests: number, seconds: number, latencyUs: number): WindowData => ({
    throughput: requests / seconds,
    avgLatencyUs: latencyUs,
    durationUs: seconds * 1e6,
    inferences: requests,
    latenciesUs: Array(requests).fill(latencyUs),
  });

  it("steady at a low rate where one-second time windows are not", () => {
    // 5 requests a second. One-second time windows catch 4, 6 and 5 requests: 6 / 4 = 1.5, unstable.
    expect(stableWindows(windows([4, 6, 5], [20_000, 20_000, 20_000]), 10)).toBeUndefined();
    // Windows of 50 requests last about 10 s each: 50/9.8 .. 50/10.3 is 1.051 apart, stable.
    const counted = [countWindow(50, 10.3, 20_000), countWindow(52, 10.2, 20_500), countWindow(50, 9.8, 19_800)];
    expect(stableWindows(counted, 10)).toBe(0);
    // Merged as any windows: 152 requests over 30.3 s.
    const merged = mergeWindows(counted);
    expect(merged.inferences).toBe(152);
    expect(merged.throughput).toBeCloseTo(152 / 30.3, 12);
    expect(merged.latency.count).toBe(152);
    expect(merged.latency.p50Us).toBe(20_000);
  });

  it("windows of the same count but growing duration (a queue building up) are not stable", () => {
    // 50 requests over 1.0, 1.05 and 1.2 s: 50 / 41.67 = 1.2 > 1.1.
    expect(stableWindows([countWindow(50, 1, 10_000), countWindow(50, 1.05, 10_000), countWindow(50, 1.2, 10_000)], 10)).toBeUndefined();
  });
});
