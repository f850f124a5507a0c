/**
 * The measurement loop in request-rate mode on a stand-in target and a hand-driven schedule
 * clock: delayed requests reach the report, count windows hold their count, the rate is the one
 * asked for. Counts only; no speed is asserted.
 */
import { describe, expect, it } from "vitest";
import type { BatchStats } from "../../src/batching/batcher.js";
import { Admission } from "../../src/pipeline/admission.js";
import { measure, type LoadShape } from "../../src/perf/load.js";
import type { Clock } from "../../src/perf/open-loop.js";
import { rateSendTimes } from "../../src/perf/schedule.js";
import type { LocalTarget } from "../../src/perf/targets.js";

/** A target whose requests take a couple of milliseconds and run in batches of one. */
function standIn(): LocalTarget & { runs: number } {
  const stats: BatchStats = { inferences: 0, executions: 0, batchSizes: {}, queueUs: 0, executeUs: 0 };
  return {
    kind: "local",
    name: "stand-in",
    runs: 0,
    stats,
    stages: {},
    async run() {
      this.runs++;
      await new Promise((resolve) => setTimeout(resolve, 2));
      stats.inferences++;
      stats.executions++;
      stats.batchSizes[1] = (stats.batchSizes[1] ?? 0) + 1;
      return { queueUs: 0, preprocessUs: 0, inferenceUs: 2000, postprocessUs: 0, batchSize: 1 };
    },
    async close() {},
  };
}

/** A schedule clock that reaches every send time `lateUs` late (real time still passes for the windows). */
function lateClock(lateUs: number): Clock {
  let now = 0;
  return {
    nowUs: () => now,
    async sleepUntilUs(timeUs) {
      now = Math.max(now, timeUs + lateUs);
    },
  };
}

const rate = (lateUs: number, maxInFlight = 4): LoadShape => ({
  kind: "rate",
  rate: 200,
  sendTimes: () => rateSendTimes(200, "constant"),
  maxInFlight,
  clock: lateClock(lateUs),
});

describe("measure in request-rate mode", () => {
  it("counts sends over 1 ms after their time as late, and as delayed only those already overdue when the client came to them", async () => {
    // 200 a second: due every 5 ms. A sleep that wakes 1.5 ms late makes every send late, but the
    // client is never behind when it comes to the next one (3.5 ms early); waking 7 ms late, it
    // comes to each next request 2 ms after its time: delayed too (perf_analyzer's rule).
    for (const [lateUs, late, delayed] of [
      [500, false, false],
      [1500, true, false],
      [7000, true, true],
    ] as const) {
      const target = standIn();
      const m = await measure(target, { load: rate(lateUs), window: { mode: "count", requests: 20, minMs: 0 }, stabilityPercent: 1000, maxWindows: 3 });
      expect(m.requestRate).toBe(200);
      expect(m.concurrency).toBeUndefined();
      expect(m.requestCount).toBe(m.windows.slice(-m.measuredWindows).reduce((s, w) => s + w.requests, 0));
      expect(m.lateRequests, `late by ${lateUs} us`).toBe(late ? m.requestCount : 0);
      expect(m.delayedRequests, `late by ${lateUs} us`).toBe(delayed ? m.requestCount : 0);
      for (const w of m.windows) {
        expect(w.late).toBe(late ? w.requests : 0);
        expect(w.delayed).toBe(delayed ? w.requests : 0);
      }
      expect(m.sendRate).toBeGreaterThan(0);
      expect(m.errors).toBe(0);
    }
  });

  it("count windows each hold at least the request count; every request sent was run", async () => {
    const target = standIn();
    const m = await measure(target, { load: rate(0), window: { mode: "count", requests: 15, minMs: 0 }, stabilityPercent: 1000, maxWindows: 3 });
    expect(m.windows.length).toBe(3);
    for (const w of m.windows) expect(w.requests).toBeGreaterThanOrEqual(15);
    // Sent in the windows: what completed there, give or take the (at most 4) in flight at each edge.
    for (const w of m.windows) expect(Math.abs(w.sent! - w.requests)).toBeLessThanOrEqual(4);
    expect(m.completedRequests).toBe(target.runs);
    expect(m.inferences).toBe(m.requestCount);
  });

  it("at the end, requests still waiting for admission leave unrun and are not errors", async () => {
    // One request admitted at a time, 20 ms each, sent at 1000/s: requests pile up in the queue.
    const admission = new Admission(1);
    const base = standIn();
    let admitted = 0;
    let sent = 0;
    const target: LocalTarget = {
      ...base,
      run: async (i, signal) => {
        sent++;
        await admission.acquire(signal);
        admitted++;
        try {
          await new Promise((resolve) => setTimeout(resolve, 20));
          return await base.run(i);
        } finally {
          admission.release();
        }
      },
    };
    const load: LoadShape = { kind: "rate", rate: 1000, sendTimes: () => rateSendTimes(1000, "constant"), maxInFlight: 200, clock: lateClock(0) };
    const m = await measure(target, { load, window: { mode: "count", requests: 3, minMs: 0 }, stabilityPercent: 1000, maxWindows: 3 });
    expect(m.errors).toBe(0);
    expect(m.completedRequests).toBe(admitted);
    expect(admitted).toBeLessThan(sent);
    expect(admission.load).toEqual({ active: 0, waiting: 0 });
  });
});
