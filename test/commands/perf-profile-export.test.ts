/**
 * `emb perf --profile-export-file`: the file is perf_analyzer's profile export, one experiment per
 * load level, each holding every measurement window's requests (as perf_analyzer's does) inside
 * window_boundaries that are emb's own windows; held to the key structure of a real
 * perf_analyzer 2.41.0 export (test/fixtures/perf/, made against `emb serve`): every key it has,
 * emb's has.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { fixturePath, readJson } from "../helpers/fixtures.js";

const SIGLIP = fixturePath("siglip-tiny");
const fast = ["--measurement-interval", "150", "--stability-percentage", "90", "--max-trials", "4", "--no-progress", "--json"];

interface ExportRequest {
  timestamp: number;
  request_inputs: object;
  response_timestamps: number[];
  response_outputs: object[];
}
interface Experiment {
  experiment: { mode: string; value: number };
  requests: ExportRequest[];
  window_boundaries: number[];
}
interface Level {
  concurrency?: number;
  requestRate?: number;
  requestCount: number;
  measuredWindows: number;
  windows: { requests: number }[];
}

/**
 * Every key of perf_analyzer's document is in emb's with the same kind of value, arrays by their
 * first element. emb writes later perf_analyzer versions' keys too (request_inputs,
 * response_outputs, service_kind, endpoint), which 2.41.0's export does not have.
 */
function expectWithin(real: unknown, ours: unknown, at = "$") {
  if (Array.isArray(real)) {
    expect(Array.isArray(ours), at).toBe(true);
    if (real.length > 0 && (ours as unknown[]).length > 0) expectWithin(real[0], (ours as unknown[])[0], `${at}[0]`);
  } else if (real !== null && typeof real === "object") {
    expect(ours !== null && typeof ours === "object" && !Array.isArray(ours), at).toBe(true);
    for (const [key, value] of Object.entries(real)) {
      expect(ours as object, `${at}.${key}`).toHaveProperty([key]);
      expectWithin(value, (ours as Record<string, unknown>)[key], `${at}.${key}`);
    }
  } else {
    expect(typeof ours, at).toBe(typeof real);
  }
}

/** Checks one experiment against the level emb perf reported for it. */
function checkExperiment(e: Experiment, level: Level) {
  const bounds = e.window_boundaries;
  // perf_analyzer's boundaries: the first window's start, then each window's end.
  expect(bounds).toHaveLength(level.windows.length + 1);
  for (let i = 1; i < bounds.length; i++) expect(bounds[i]).toBeGreaterThan(bounds[i - 1]);
  for (let i = 1; i < e.requests.length; i++) expect(e.requests[i].timestamp).toBeGreaterThanOrEqual(e.requests[i - 1].timestamp);
  // Timestamps are nanoseconds since the epoch, as perf_analyzer's.
  expect(Math.abs(bounds[0] / 1e6 - Date.now())).toBeLessThan(10 * 60_000);
  // Every window's requests, each in the window its answer came in.
  expect(e.requests).toHaveLength(level.windows.reduce((s, w) => s + w.requests, 0));
  const inWindow = (i: number) => e.requests.filter((r) => r.response_timestamps[0] > bounds[i] && r.response_timestamps[0] <= bounds[i + 1]).length;
  level.windows.forEach((w, i) => expect(inWindow(i), `window ${i}`).toBe(w.requests));
  // The measured windows are the last ones: their requests are emb perf's request count.
  const from = bounds[bounds.length - 1 - level.measuredWindows];
  expect(e.requests.filter((r) => r.response_timestamps[0] > from).length).toBe(level.requestCount);
  for (const r of e.requests) {
    expect(r.response_timestamps).toHaveLength(1);
    expect(r.response_timestamps[0]).toBeGreaterThan(r.timestamp);
    expect(r.response_outputs).toHaveLength(r.response_timestamps.length);
  }
}

describe("emb perf --profile-export-file", () => {
  const real = readJson("perf", "perf-analyzer-profile-export.json");

  it("writes one experiment per concurrency, every window's requests, emb's own windows", () => {
    const file = join(mkdtempSync(join(tmpdir(), "emb-profile-export-")), "profile.json");
    const run = runCli(["perf", "--target", "siglip-text", "--model", SIGLIP, "--concurrency", "1:3:2", "--profile-export-file", file, ...fast]);
    expect(run.status, run.stderr).toBe(0);
    const levels = JSON.parse(run.stdout).results as Level[];
    const doc = JSON.parse(readFileSync(file, "utf8"));
    expect(doc.experiments.map((e: Experiment) => e.experiment)).toEqual(levels.map((l) => ({ mode: "concurrency", value: l.concurrency })));
    doc.experiments.forEach((e: Experiment, i: number) => checkExperiment(e, levels[i]));
    expect(doc.version).toMatch(/^emb \d+\.\d+\.\d+/);
    expect(doc.service_kind).toBe("");
    expectWithin(real, doc);
  });

  it("writes request_rate experiments for an open-loop load", () => {
    const file = join(mkdtempSync(join(tmpdir(), "emb-profile-export-")), "profile.json");
    const run = runCli(["perf", "--target", "siglip-text", "--model", SIGLIP, "--request-rate-range", "40", "--profile-export-file", file, ...fast]);
    expect(run.status, run.stderr).toBe(0);
    const levels = JSON.parse(run.stdout).results as Level[];
    const doc = JSON.parse(readFileSync(file, "utf8"));
    expect(doc.experiments.map((e: Experiment) => e.experiment)).toEqual([{ mode: "request_rate", value: 40 }]);
    checkExperiment(doc.experiments[0], levels[0]);
    expectWithin(real, doc);
  });
});
