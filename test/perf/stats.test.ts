import { describe, expect, it } from "vitest";
import { histogram, percentileIndex, summarizeLatencies } from "../../src/perf/stats.js";

/** A deterministic shuffle, so the summary cannot rely on sorted input. */
function shuffled(values: number[]): number[] {
  const out = [...values];
  let seed = 7;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe("percentileIndex (perf_analyzer: floor(p/100 * (n-1) + 0.5))", () => {
  it("rounds halves up and never interpolates", () => {
    expect(percentileIndex(50, 2)).toBe(1); // 0.5 + 0.5
    expect(percentileIndex(90, 6)).toBe(5); // 4.5 + 0.5
    expect(percentileIndex(50, 100)).toBe(50); // 49.5 + 0.5
    expect(percentileIndex(99, 100)).toBe(98); // 98.01 + 0.5
    expect(percentileIndex(99, 1)).toBe(0);
  });
});

describe("summarizeLatencies", () => {
  it("1..100: p50 51, p90 90, p95 95, p99 99 (not numpy's 50.5, not ceil-rank's 50)", () => {
    const s = summarizeLatencies(shuffled(Array.from({ length: 100 }, (_, i) => i + 1)));
    expect(s.count).toBe(100);
    expect(s.minUs).toBe(1);
    expect(s.maxUs).toBe(100);
    // p50: floor(49.5 + 0.5) = 50 -> 51; p90: floor(89.1 + 0.5) = 89 -> 90;
    // p95: floor(94.05 + 0.5) = 94 -> 95; p99: floor(98.01 + 0.5) = 98 -> 99.
    expect([s.p50Us, s.p90Us, s.p95Us, s.p99Us]).toEqual([51, 90, 95, 99]);
    expect(s.avgUs).toBe(50.5);
    // Sample variance of 1..n is n(n+1)/12 = 841.666...
    expect(s.stdUs).toBeCloseTo(Math.sqrt((100 * 101) / 12), 10);
    expect(s.stdUs).toBeCloseTo(29.0115, 4);
  });

  it("three values: the middle is p50, the largest every higher percentile", () => {
    const s = summarizeLatencies([5, 1, 3]);
    // idx p50 = floor(1 + 0.5) = 1; p90 = floor(1.8 + 0.5) = 2
    expect([s.p50Us, s.p90Us, s.p95Us, s.p99Us]).toEqual([3, 5, 5, 5]);
    expect(s.avgUs).toBe(3);
    expect(s.stdUs).toBe(2); // sqrt((4 + 0 + 4) / 2)
  });

  it("two values: p50 is the upper one", () => {
    const s = summarizeLatencies([20, 10]);
    expect(s.p50Us).toBe(20);
    expect(s.avgUs).toBe(15);
    expect(s.stdUs).toBeCloseTo(Math.sqrt(50), 12);
  });

  it("eleven values: p90 and p95 fall on different elements", () => {
    const s = summarizeLatencies(shuffled([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110]));
    // p50 floor(5.5) = 5 -> 60; p90 floor(9.5) = 9 -> 100; p95 floor(10) = 10 -> 110; p99 floor(10.4) -> 110
    expect([s.p50Us, s.p90Us, s.p95Us, s.p99Us]).toEqual([60, 100, 110, 110]);
  });

  it("agrees with perf_analyzer's own GetMeanAndStdDev test cases (there in ns, truncated)", () => {
    const small = summarizeLatencies([100, 200, 50]);
    expect(Math.trunc(small.avgUs * 1000)).toBe(116666);
    expect(Math.trunc(small.stdUs)).toBe(76);
    expect(small.stdUs).toBeCloseTo(76.3763, 4);
    const big = summarizeLatencies([4_300_000, 4_400_000, 5_000_000]);
    expect(Math.trunc(big.avgUs * 1000)).toBe(4_566_666_666);
    expect(Math.trunc(big.stdUs)).toBe(378_593);
  });

  it("a single latency has an infinite standard deviation (perf_analyzer: UINT64_MAX)", () => {
    const s = summarizeLatencies([123]);
    expect(s.stdUs).toBe(Infinity);
    expect([s.avgUs, s.minUs, s.maxUs, s.p50Us, s.p99Us]).toEqual([123, 123, 123, 123, 123]);
  });

  it("accepts typed arrays and fractional microseconds, and leaves the input alone", () => {
    const input = new Float64Array([2.5, 0.5, 1.5]);
    const s = summarizeLatencies(input);
    expect(s.p50Us).toBe(1.5);
    expect(s.avgUs).toBe(1.5);
    expect([...input]).toEqual([2.5, 0.5, 1.5]);
  });

  it("refuses no latencies and non-finite ones", () => {
    expect(() => summarizeLatencies([])).toThrow(RangeError);
    expect(() => summarizeLatencies([1, NaN])).toThrow(RangeError);
    expect(() => summarizeLatencies([1, Infinity])).toThrow(RangeError);
  });
});

describe("histogram", () => {
  it("counts each value, ascending", () => {
    expect(histogram([4, 1, 4, 8, 4, 1])).toEqual([
      { value: 1, count: 2 },
      { value: 4, count: 3 },
      { value: 8, count: 1 },
    ]);
    expect(histogram([16, 2])).toEqual([
      { value: 2, count: 1 },
      { value: 16, count: 1 },
    ]);
  });

  it("is empty for no values", () => {
    expect(histogram([])).toEqual([]);
  });
});
