import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { fixturePath } from "../helpers/fixtures.js";

const SIGLIP = fixturePath("siglip-tiny");
const FLORENCE = fixturePath("florence2-tiny");
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-perf-${name}-`));
// Short windows and a loose stability bound keep the runs short; no test asserts a speed.
const fast = ["--measurement-interval", "150", "--stability-percentage", "90", "--max-trials", "4", "--no-progress", "--json"];

interface Result {
  concurrency?: number;
  throughput: number;
  inferences: number;
  executions: number;
  batchSizes: { value: number; count: number }[];
  latency: { p50Us: number; p90Us: number; p95Us: number; p99Us: number; avgUs: number; minUs: number; maxUs: number };
  breakdownUs: Record<string, number>;
  peakRssBytes: number;
  windows: unknown[];
  errors: number;
}

interface RateResult {
  requestRate: number;
  requestCount: number;
  delayedRequests: number;
  sendRate: number;
  completedRequests: number;
  measuredWindows: number;
  windows: { requests: number; seconds: number; sent: number; delayed: number }[];
}

function checkConsistent(r: Result, maxBatch: number) {
  expect(r.errors).toBe(0);
  expect(r.throughput).toBeGreaterThan(0);
  // What dynamic batching achieved: every execution ran 1..maxBatch requests.
  expect(r.batchSizes.reduce((s, b) => s + b.count, 0)).toBe(r.executions);
  expect(r.batchSizes.reduce((s, b) => s + b.value * b.count, 0)).toBe(r.inferences);
  expect(Math.max(...r.batchSizes.map((b) => b.value))).toBeLessThanOrEqual(maxBatch);
  const l = r.latency;
  expect(l.minUs <= l.p50Us && l.p50Us <= l.p90Us && l.p90Us <= l.p95Us && l.p95Us <= l.p99Us && l.p99Us <= l.maxUs).toBe(true);
  expect(r.windows.length).toBeGreaterThanOrEqual(3);
  expect(r.peakRssBytes).toBeGreaterThan(0);
}

describe("emb perf", () => {
  it("measures the text tower under a fixed concurrency with perf_analyzer-style windows", () => {
    const run = runCli(["perf", "--target", "siglip-text", "--model", SIGLIP, "--concurrency", "12", "--batch-size", "4", ...fast]);
    expect(run.status, run.stderr).toBe(0);
    const [r] = JSON.parse(run.stdout).results as Result[];
    expect(r.concurrency).toBe(12);
    checkConsistent(r, 4);
    // Twelve requests in flight and batches of at most four: requests waited for batches.
    expect(r.inferences / r.executions).toBeGreaterThan(1);
  });

  it("takes perf_analyzer's input-data JSON of token ids, and stops a range at --latency-threshold", () => {
    const row = (n: number) => [...Array.from({ length: n }, (_, i) => 5 + i), ...Array(64 - n).fill(1)];
    const input = join(tmp("ids"), "input_ids.json");
    writeFileSync(input, JSON.stringify({ data: [{ INPUT_IDS: row(5) }, { INPUT_IDS: { content: row(9), shape: [64] } }] }));
    const run = runCli(["perf", "--target", "siglip-text", "--model", SIGLIP, "--input", input, "--concurrency", "2:6:2", "--latency-threshold", "1", ...fast]);
    expect(run.status, run.stderr).toBe(0);
    // No request of the tiny model finishes under a millisecond here... is not assumed: the range
    // stops after the first level whose latency is over the threshold, whichever that is.
    const results = JSON.parse(run.stdout).results as Result[];
    const over = results.findIndex((r) => r.latency.p99Us > 1000);
    expect(results).toHaveLength(over === -1 ? 3 : over + 1);
    checkConsistent(results[0], 16);
  });

  it("measures images from a folder, and a concurrency range with CSV and a chart", async () => {
    const out = tmp("out");
    const run = runCli([
      ...["perf", "--target", "siglip-image", "--model", SIGLIP, "--input", fixturePath("images"), "--concurrency", "1:5:4"],
      ...["--csv", join(out, "perf.csv"), "--chart", join(out, "chart"), "--batch-size", "4", ...fast],
    ]);
    expect(run.status, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout);
    expect(json.results.map((r: Result) => r.concurrency)).toEqual([1, 5]);
    for (const r of json.results) checkConsistent(r, 4);
    // One request at a time can only ever form batches of one.
    expect(json.results[0].batchSizes).toEqual([{ value: 1, count: json.results[0].executions }]);
    // The stage breakdown is the commands' runner's: the workers' read/decode/normalise, the
    // model, post-processing; its batches cover at least the measured executions.
    const stages = json.results[0].stages;
    expect(Object.keys(stages).sort()).toEqual(["decode", "inference", "normalize", "postprocess", "read"]);
    expect(stages.inference.calls).toBeGreaterThanOrEqual(json.results[0].executions);
    const csv = readFileSync(join(out, "perf.csv"), "utf8").trim().split("\n");
    expect(csv[0]).toMatch(/^Concurrency,Inferences\/Second,/);
    expect(csv).toHaveLength(3);
    expect(existsSync(join(out, "chart.svg"))).toBe(true);
    expect((await sharp(join(out, "chart.png")).metadata()).format).toBe("png");
  });

  it("loads Florence-2 with a task and generated images", () => {
    const run = runCli([
      "perf",
      "--target",
      "florence:<CAPTION>",
      "--model",
      FLORENCE,
      "--concurrency",
      "3",
      "--max-new-tokens",
      "4",
      "--image-size",
      "64x48",
      ...fast,
    ]);
    expect(run.status, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout);
    checkConsistent(json.results[0], 16);
    // The whole generate call is counted: the encoder's graphs and every decoder step, each session's profile.
    expect(json.arithmetic.opsPerItem).toBeGreaterThan(0);
    expect(json.results[0].arithmetic.opsPerItem).toBe(json.arithmetic.opsPerItem);
  });

  it("sweeps batcher settings, saves the best, and --batcher-config reads it back", () => {
    const out = tmp("sweep");
    const config = join(out, "batcher.json");
    const run = runCli([
      ...["perf", "--target", "siglip-text", "--model", SIGLIP, "--concurrency", "8", "--sweep"],
      ...["--sweep-batch-sizes", "1,8", "--sweep-queue-delays-us", "0,5000", "--save-config", config, ...fast],
    ]);
    expect(run.status, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout);
    expect(json.sweep).toHaveLength(4);
    const throughputs = json.sweep.map((r: Result) => r.throughput);
    expect(throughputs).toEqual([...throughputs].sort((a: number, b: number) => b - a));
    const saved = JSON.parse(readFileSync(config, "utf8"));
    expect(saved).toMatchObject({ maxBatchSize: json.best.maxBatchSize, maxQueueDelayUs: json.best.maxQueueDelayUs });
    expect([1, 8]).toContain(saved.maxBatchSize);
    const again = runCli(["perf", "--target", "siglip-text", "--model", SIGLIP, "--concurrency", "4", "--batcher-config", config, ...fast]);
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).settings).toMatchObject({ maxBatchSize: saved.maxBatchSize, maxQueueDelayUs: saved.maxQueueDelayUs });
  });

  it("sends requests open-loop at a request rate, in count windows, and reports the rate where the concurrency was", () => {
    const out = tmp("rate");
    const rate = 40;
    const started = Date.now();
    const run = runCli([
      ...["perf", "--target", "siglip-text", "--model", SIGLIP, "--request-rate-range", String(rate), "--request-distribution", "poisson", "--seed", "5"],
      ...["--measurement-mode", "count_windows", "--measurement-request-count", "20", "--stability-percentage", "90", "--max-trials", "4"],
      ...["--csv", join(out, "rate.csv"), "--no-progress", "--json"],
    ]);
    const wallSeconds = (Date.now() - started) / 1000;
    expect(run.status, run.stderr).toBe(0);
    const [r] = JSON.parse(run.stdout).results as (Omit<Result, "windows"> & RateResult)[];
    expect(r.requestRate).toBe(rate);
    expect(r.concurrency).toBeUndefined();
    checkConsistent(r as Result, 16);
    // Count windows: each at least 20 requests and a second.
    for (const w of r.windows) {
      expect(w.requests).toBeGreaterThanOrEqual(20);
      expect(w.seconds).toBeGreaterThanOrEqual(1);
    }
    const measured = r.windows.slice(-r.measuredWindows);
    expect(r.requestCount).toBe(measured.reduce((s, w) => s + w.requests, 0));
    expect(r.delayedRequests).toBe(measured.reduce((s, w) => s + w.delayed, 0));
    expect(r.delayedRequests).toBeLessThanOrEqual(r.requestCount);
    // No request goes out before its time, so the schedule allows at most rate x the process's
    // lifetime of them, however slow or busy the machine.
    expect(r.completedRequests).toBeLessThanOrEqual(rate * wallSeconds);
    expect(r.sendRate * measured.reduce((s, w) => s + w.seconds, 0)).toBeCloseTo(
      measured.reduce((s, w) => s + w.sent, 0),
      6,
    );
    const csv = readFileSync(join(out, "rate.csv"), "utf8").trim().split("\n");
    // The arithmetic columns (perf-arithmetic.test.ts) follow the rate columns.
    expect(csv[0]).toMatch(/^Request Rate,Inferences\/Second,.*,Request Count,Delayed Request Count,Avg Send Request Rate,Ops Per Item,/);
    expect(csv[1].split(",")[0]).toBe(String(rate));
    expect(csv[1].split(",")[csv[0].split(",").indexOf("Request Count")]).toBe(String(r.requestCount));
  });

  it("--no-progress hides only the progress: the result table, chart line and sweep result still print", () => {
    const out = tmp("quiet");
    const quiet = ["--measurement-interval", "150", "--stability-percentage", "90", "--max-trials", "4", "--no-progress"];
    const range = runCli(["perf", "--target", "siglip-text", "--model", SIGLIP, "--concurrency", "1:3:2", "--chart", join(out, "chart"), ...quiet], {
      NO_COLOR: "1",
    });
    expect(range.status, range.stderr).toBe(0);
    const lines = range.stdout.split("\n");
    const head = lines.find((l) => l.includes("concurrency"));
    expect(head).toMatch(/^│ concurrency │/);
    expect(head).toContain("│ infer/s │");
    // One row per level of the range, the level in the first column.
    expect(lines.filter((l) => /^│\s*[13]\s*│/.test(l)).map((l) => l.split("│")[1].trim())).toEqual(["1", "3"]);
    expect(range.stdout).toContain(`chart: ${join(out, "chart.svg")}, ${join(out, "chart.png")}`);
    expect(range.stderr).not.toContain("Pass [");
    expect(range.stderr).not.toContain("Request concurrency");
    const sweep = runCli(
      [
        ...["perf", "--target", "siglip-text", "--model", SIGLIP, "--concurrency", "2", "--sweep"],
        ...["--sweep-batch-sizes", "1,2", "--sweep-queue-delays-us", "0", "--save-config", join(out, "batcher.json"), ...quiet],
      ],
      { NO_COLOR: "1" },
    );
    expect(sweep.status, sweep.stderr).toBe(0);
    expect(sweep.stdout).toContain("max batch");
    expect(sweep.stdout).toMatch(new RegExp(`^best: batch [12], delay 0 us, .* saved to ${join(out, "batcher.json")}$`, "m"));
    expect(sweep.stderr).not.toContain("Pass [");
  });

  it("explains a bad concurrency, target or batcher config", () => {
    const concurrency = runCli(["perf", "--model", SIGLIP, "--concurrency", "8:2"]);
    expect(concurrency.status).toBe(2);
    expect(concurrency.stderr).toContain("--concurrency 8:2: give N or start:end:step");
    const both = runCli(["perf", "--model", SIGLIP, "--concurrency", "4", "--request-rate-range", "10"]);
    expect(both.status).toBe(2);
    expect(both.stderr).toContain("--concurrency, --request-rate-range each set the load: give one");
    const range = runCli(["perf", "--model", SIGLIP, "--request-rate-range", "10:0"]);
    expect(range.status).toBe(2);
    expect(range.stderr).toContain("--request-rate-range 10:0: give requests per second as R or start:end:step");
    const target = runCli(["perf", "--target", "clip", "--model", SIGLIP]);
    expect(target.status).toBe(2);
    expect(target.stderr).toContain("--target clip: choose siglip-image, siglip-text, florence:<TASK>");
    const bad = join(tmp("cfg"), "bad.json");
    writeFileSync(bad, JSON.stringify({ maxBatchSize: 0, maxQueueDelayUs: 10 }));
    const config = runCli(["perf", "--model", SIGLIP, "--batcher-config", bad]);
    expect(config.status).not.toBe(0);
    expect(config.stderr).toContain('"maxBatchSize" must be an integer >= 1, not 0');
  });
});
