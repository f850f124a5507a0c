import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPlan, type LoadFlags } from "../../src/perf/load-flags.js";
import type { LoadShape } from "../../src/perf/load.js";

const defaults: LoadFlags = {
  concurrency: "1",
  "request-distribution": "constant",
  seed: 0,
  "max-in-flight": 1024,
  "measurement-mode": "time_windows",
  "measurement-interval": 5000,
  "measurement-request-count": 50,
};

/** The plan for flags as typed: `typed` are both the values and the set of flags given. */
const plan = (typed: Partial<LoadFlags>) => loadPlan({ ...defaults, ...typed }, new Set(Object.keys(typed)));
const rates = (levels: LoadShape[]) => levels.map((l) => (l.kind === "rate" ? l.rate : Number.NaN));

describe("loadPlan", () => {
  it("concurrency by default, in time windows of --measurement-interval", () => {
    expect(plan({})).toEqual({ levels: [{ kind: "concurrency", concurrency: 1 }], window: { mode: "time", ms: 5000 } });
    expect(plan({ concurrency: "2:6:2" }).levels).toEqual([2, 4, 6].map((concurrency) => ({ kind: "concurrency", concurrency })));
  });

  it("a rate range, each level with its own fresh schedule", () => {
    const { levels } = plan({ "request-rate-range": "10:30:10", "request-distribution": "poisson", seed: 4, "max-in-flight": 8 });
    expect(rates(levels)).toEqual([10, 20, 30]);
    const first = levels[0] as Extract<LoadShape, { kind: "rate" }>;
    expect(first.maxInFlight).toBe(8);
    const a = first.sendTimes();
    const b = first.sendTimes();
    expect([a(), a()]).toEqual([b(), b()]);
    // Poisson, not constant: the intervals differ.
    const c = first.sendTimes();
    const t1 = c();
    expect(c() - t1).not.toBeCloseTo(t1, 6);
  });

  it("count windows of --measurement-request-count", () => {
    expect(plan({ "measurement-mode": "count_windows" }).window).toEqual({ mode: "count", requests: 50 });
    expect(plan({ "measurement-mode": "count_windows", "measurement-request-count": 200 }).window).toEqual({ mode: "count", requests: 200 });
  });

  it("an intervals file: one level at the rate it stands for", () => {
    const file = join(mkdtempSync(join(tmpdir(), "emb-plan-")), "intervals.txt");
    writeFileSync(file, "10000\n30000\n");
    const [level] = plan({ "request-intervals": file }).levels as Extract<LoadShape, { kind: "rate" }>[];
    expect(level.rate).toBe(50);
    const next = level.sendTimes();
    expect([next(), next(), next()]).toEqual([10_000, 40_000, 50_000]);
  });

  it("refuses two loads at once, naming both", () => {
    expect(() => plan({ concurrency: "4", "request-rate-range": "10" })).toThrow("--concurrency, --request-rate-range each set the load: give one");
    expect(() => plan({ "request-rate-range": "10", "request-intervals": "x.txt" })).toThrow("--request-rate-range, --request-intervals each set the load");
  });

  it("refuses schedule options without a schedule, and a seed without poisson", () => {
    expect(() => plan({ "request-distribution": "poisson" })).toThrow("--request-distribution applies only with --request-rate-range");
    expect(() => plan({ "max-in-flight": 4 })).toThrow("--max-in-flight applies only to requests sent on a schedule");
    expect(() => plan({ "request-rate-range": "5", seed: 3 })).toThrow("--seed draws a Poisson schedule: add --request-distribution poisson");
  });

  it("refuses a window option of the other mode", () => {
    expect(() => plan({ "measurement-request-count": 10 })).toThrow("--measurement-request-count applies only with --measurement-mode count_windows");
    expect(() => plan({ "measurement-mode": "count_windows", "measurement-interval": 100 })).toThrow(
      "--measurement-interval applies only with --measurement-mode time_windows",
    );
  });

  it("refuses a bad range, saying what a good one is", () => {
    expect(() => plan({ "request-rate-range": "0:10" })).toThrow("--request-rate-range 0:10: give requests per second as R or start:end:step with start > 0");
    expect(() => plan({ concurrency: "0" })).toThrow("--concurrency 0: give N or start:end:step");
  });
});
