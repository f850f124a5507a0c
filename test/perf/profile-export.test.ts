import { describe, expect, it } from "vitest";
import { experimentOf, profileExportJson, wallClockNs } from "../../src/perf/profile-export.js";

describe("perf_analyzer's profile export", () => {
  it("writes 19-digit nanosecond times exactly, requests in send order, one response each", () => {
    const base = 1_796_561_059_563_372_379n;
    const json = profileExportJson(
      [
        experimentOf(
          { concurrency: 2 },
          {
            requests: [
              { sentNs: base + 10n, answeredNs: base + 31n },
              { sentNs: base + 1n, answeredNs: base + 23n },
            ],
            windowBoundariesNs: [base, base + 25n, base + 50n],
          },
        ),
        experimentOf({ requestRate: 12.5 }, { requests: [], windowBoundariesNs: [base + 60n, base + 70n] }),
      ],
      { version: "emb 0.1.0", serviceKind: "triton", endpoint: "" },
    );
    // Digits as written, not a double's nearest value.
    expect(json).toContain(`"timestamp":${base + 1n},`);
    expect(json).toContain(`"window_boundaries":[${base},${base + 25n},${base + 50n}]`);
    const doc = JSON.parse(json);
    expect(Object.keys(doc)).toEqual(["experiments", "version", "service_kind", "endpoint"]);
    expect(doc.experiments.map((e: { experiment: unknown }) => e.experiment)).toEqual([
      { mode: "concurrency", value: 2 },
      { mode: "request_rate", value: 12.5 },
    ]);
    const [first, second] = doc.experiments[0].requests;
    expect(Object.keys(first)).toEqual(["timestamp", "request_inputs", "response_timestamps", "response_outputs"]);
    // In send order (JSON.parse's doubles cannot tell these two times apart, the text can).
    expect(json.indexOf(`"timestamp":${base + 1n},`)).toBeLessThan(json.indexOf(`"timestamp":${base + 10n},`));
    expect(second.response_timestamps).toHaveLength(1);
    expect(first.response_timestamps).toHaveLength(1);
    expect(first.response_outputs).toEqual([{}]);
    expect(doc.experiments[1].requests).toEqual([]);
  });

  it("reads the clock as nanoseconds since the epoch that never step back", () => {
    const a = wallClockNs();
    const b = wallClockNs();
    expect(b >= a).toBe(true);
    expect(Number(a / 1_000_000n)).toBeGreaterThan(Date.now() - 1000);
    expect(Number(a / 1_000_000n)).toBeLessThan(Date.now() + 1000);
  });
});
