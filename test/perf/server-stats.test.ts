import { describe, expect, it } from "vitest";
import { parseModelStatistics, serverSection, serverStatsDifference, serverStatsSum, summarizeServer } from "../../src/perf/server-stats.js";

const d = (count: number, ns: number) => ({ count, ns });

/** A Triton statistics answer for one model version. */
function entry(version: string, n: number, scale = 1) {
  return {
    name: "siglip_text",
    version,
    last_inference: 0,
    inference_count: n * 2,
    execution_count: n,
    inference_stats: {
      success: d(n * 2, 1_000_000 * n * scale),
      fail: d(1, 5),
      queue: d(n * 2, 200_000 * n * scale),
      compute_input: d(n * 2, 100_000 * n * scale),
      compute_infer: d(n * 2, 600_000 * n * scale),
      compute_output: d(n * 2, 50_000 * n * scale),
      cache_hit: d(0, 0),
      cache_miss: d(0, 0),
    },
    batch_stats: [{ batch_size: 2, compute_input: d(n, 0), compute_infer: d(n, 7), compute_output: d(n, 0) }],
  };
}

describe("server statistics", () => {
  it("reads Triton's statistics, summing the versions, numbers as JSON numbers or strings", () => {
    const stringly = JSON.parse(JSON.stringify(entry("2", 5)), (_, v) => (typeof v === "number" ? String(v) : v));
    const s = parseModelStatistics({ model_stats: [entry("1", 10), stringly, { ...entry("1", 99), name: "other" }] }, "siglip_text");
    expect(s.inferences).toBe(30);
    expect(s.executions).toBe(15);
    expect(s.success).toEqual(d(30, 15_000_000));
    expect(s.fail).toEqual(d(2, 10));
    expect(s.batchSizes).toEqual({ 2: 15 });
    expect(() => parseModelStatistics({ model_stats: [] }, "siglip_text")).toThrow('no entry for model "siglip_text"');
    expect(() => parseModelStatistics({ nope: 1 }, "siglip_text")).toThrow();
  });

  it("differences readings and sums windows", () => {
    const at = (n: number) => parseModelStatistics({ model_stats: [entry("1", n)] }, "siglip_text");
    const window1 = serverStatsDifference(at(15), at(10));
    const window2 = serverStatsDifference(at(18), at(15));
    expect(window1.executions).toBe(5);
    expect(window1.batchSizes).toEqual({ 2: 5 });
    expect(window1.fail.count).toBe(0);
    const both = serverStatsSum(window1, window2);
    expect(both).toEqual(serverStatsDifference(at(18), at(10)));
    // A batch size no execution of the window had is left out.
    expect(serverStatsDifference(at(10), at(10)).batchSizes).toEqual({});
  });

  it("averages each stage over the successful requests, the rest being overhead, as perf_analyzer", () => {
    const s = serverStatsDifference(
      parseModelStatistics({ model_stats: [entry("1", 20)] }, "siglip_text"),
      parseModelStatistics({ model_stats: [entry("1", 10)] }, "siglip_text"),
    );
    const summary = summarizeServer(s);
    // 20 requests, 10 ms of success time in all: 500 us each, of which 100 + 50 + 300 + 25 in stages.
    expect(summary).toMatchObject({ requests: 20, inferences: 20, executions: 10, failures: 0 });
    expect(summary.avgRequestUs).toBeCloseTo(500);
    expect(summary.queueUs).toBeCloseTo(100);
    expect(summary.computeInputUs).toBeCloseTo(50);
    expect(summary.computeInferUs).toBeCloseTo(300);
    expect(summary.computeOutputUs).toBeCloseTo(25);
    expect(summary.overheadUs).toBeCloseTo(25);
    expect(serverSection(summary)).toEqual([
      "  Server:",
      "    Inference count: 20",
      "    Execution count: 10",
      "    Successful request count: 20",
      "    Avg request latency: 500 usec (overhead 25 usec + queue 100 usec + compute input 50 usec + compute infer 300 usec + compute output 25 usec)",
    ]);
    // No request: zeros, not NaN.
    expect(summarizeServer(serverStatsDifference(s, s)).avgRequestUs).toBe(0);
  });
});
