/**
 * `emb perf --url` against `emb serve` on the tiny SigLIP model: the report's counts agree with
 * the server's own statistics, the server-side columns come from them, and a wrong model, a
 * closed port, a missing token and in-process-only flags give clear errors. No timing is asserted.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliAsync } from "../helpers/cli.js";
import { fixturePath } from "../helpers/fixtures.js";
import { startServe, type RunningServer } from "../helpers/serve.js";

const SIGLIP = fixturePath("siglip-tiny");
const TOKEN = "perf-s3cret";
const withToken = { EMB_SERVE_TOKEN: TOKEN };
// Short windows and a loose stability bound keep the runs short; no test asserts a speed.
const fast = ["--concurrency", "2", "--measurement-interval", "300", "--stability-percentage", "90", "--max-trials", "4", "--json"];

interface Result {
  concurrency: number;
  throughput: number;
  inferences: number;
  executions: number;
  batchSizes: { value: number; count: number }[];
  breakdownUs: Record<string, number>;
  windows: { requests: number }[];
  errors: number;
  completedRequests: number;
  stages: Record<string, unknown>;
  server: { requests: number; failures: number; inferences: number; executions: number; avgRequestUs: number; queueUs: number; computeInferUs: number };
}

interface RateResult {
  requestRate: number;
  requestCount: number;
  delayedRequests: number;
  measuredWindows: number;
  windows: { requests: number; sent: number; delayed: number }[];
}

let server: RunningServer;

/** The server's cumulative statistics of one model, as perf_analyzer reads them. */
async function stats(model: string): Promise<{ inference_count: number; inference_stats: { success: { count: number } } }> {
  const res = await fetch(`${server.url}/v2/models/${model}/stats`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { model_stats: never[] }).model_stats[0];
}

/** Runs perf against the server and checks its report against the server's statistics. */
async function measureAgainstServer(model: string, args: string[], env: Record<string, string> = withToken): Promise<Result> {
  const before = await stats(model);
  const run = await runCliAsync(["perf", "--url", server.url, ...args, ...fast], env);
  expect(run.status, run.stderr).toBe(0);
  const after = await stats(model);
  const json = JSON.parse(run.stdout);
  expect(json).toMatchObject({ url: server.url, model });
  expect(json.settings).toBeUndefined();
  // No model here to count the arithmetic of.
  expect(json.arithmetic).toBeNull();
  const [r] = json.results as Result[];
  expect(r).not.toHaveProperty("arithmetic");
  expect(r.concurrency).toBe(2);
  expect(r.errors).toBe(0);
  expect(r.throughput).toBeGreaterThan(0);
  // Every request the report says succeeded is one the server counted (one row each), warm-up
  // and the requests in flight at the end included; nothing else ran on this model meanwhile.
  const grew = after.inference_count - before.inference_count;
  expect(grew).toBe(r.completedRequests);
  expect(after.inference_stats.success.count - before.inference_stats.success.count).toBe(r.completedRequests);
  expect(grew).toBeGreaterThanOrEqual(r.windows.reduce((s, w) => s + w.requests, 0));
  // The server-side numbers are the server's, over the measured windows.
  expect(r.server.requests).toBeGreaterThan(0);
  expect(r.server.failures).toBe(0);
  expect(r.server.requests).toBeLessThanOrEqual(grew);
  expect(r.inferences).toBe(r.server.inferences);
  expect(r.executions).toBe(r.server.executions);
  expect(r.batchSizes.reduce((s, b) => s + b.count, 0)).toBe(r.executions);
  expect(r.breakdownUs.queue).toBe(r.server.queueUs);
  expect(r.breakdownUs.inference).toBe(r.server.computeInferUs);
  for (const v of Object.values(r.breakdownUs)) expect(v).toBeGreaterThanOrEqual(0);
  // Nothing ran in this process: no runner stages.
  expect(r.stages).toEqual({});
  return r;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  server = await startServe(["--model", `siglip=${SIGLIP}`, "--workers", "2"], withToken);
});

afterAll(async () => {
  await server?.stop();
});

describe("emb perf --url", () => {
  it("measures siglip_text with token ids and reports the server's own breakdown", async () => {
    await measureAgainstServer("siglip_text", ["--target", "siglip-text"]);
  });

  it("sends the image files of --input as raw bytes to siglip_vision, with the token from --token-file", async () => {
    const tokenFile = join(mkdtempSync(join(tmpdir(), "emb-perf-token-")), "token");
    writeFileSync(tokenFile, `${TOKEN}\n`);
    await measureAgainstServer("siglip_vision", ["--target", "siglip-image", "--input", fixturePath("images"), "--token-file", tokenFile], {
      EMB_SERVE_TOKEN: "",
    });
  });

  it("measures the model --model-name names: captions as text to embed_text", async () => {
    const captions = join(mkdtempSync(join(tmpdir(), "emb-perf-captions-")), "captions.txt");
    writeFileSync(captions, "a dog on a beach\na cat in a small kitchen\ntwo bicycles by a wall\n");
    await measureAgainstServer("embed_text", ["--target", "siglip-text", "--model-name", "embed_text", "--input", captions]);
  });

  it("sends requests at a request rate; the server counted exactly the requests reported, no more than the schedule allows", async () => {
    const rate = 30;
    const before = await stats("siglip_text");
    const started = Date.now();
    const args = [
      "--target",
      "siglip-text",
      "--request-rate-range",
      String(rate),
      "--measurement-interval",
      "300",
      "--stability-percentage",
      "90",
      "--max-trials",
      "4",
    ];
    const run = await runCliAsync(["perf", "--url", server.url, ...args, "--json"], withToken);
    const wallSeconds = (Date.now() - started) / 1000;
    expect(run.status, run.stderr).toBe(0);
    const after = await stats("siglip_text");
    const [r] = JSON.parse(run.stdout).results as (Omit<Result, "concurrency" | "windows"> & RateResult)[];
    expect(r.requestRate).toBe(rate);
    expect(r).not.toHaveProperty("concurrency");
    expect(r.errors).toBe(0);
    expect(after.inference_count - before.inference_count).toBe(r.completedRequests);
    // Requests never leave before their time: at most rate x the client's lifetime of them.
    expect(r.completedRequests).toBeLessThanOrEqual(rate * wallSeconds);
    const measured = r.windows.slice(-r.measuredWindows);
    expect(r.requestCount).toBe(measured.reduce((s, w) => s + w.requests, 0));
    expect(r.delayedRequests).toBe(measured.reduce((s, w) => s + w.delayed, 0));
    expect(r.delayedRequests).toBeLessThanOrEqual(r.requestCount);
    expect(r.inferences).toBe(r.server.inferences);
    expect(r.server.requests).toBeLessThanOrEqual(r.completedRequests);
  });

  it("names the server and its models when the model is not there", async () => {
    const run = await runCliAsync(["perf", "--url", server.url, "--target", "siglip-text", "--model-name", "no_such_model", ...fast], withToken);
    expect(run.status).toBe(1);
    const error = JSON.parse(run.stdout).error;
    expect(error.code).toBe("server");
    expect(error.message).toContain(`${server.url} has no model "no_such_model"`);
    expect(error.message).toContain("siglip_text, embed_text, siglip_vision, embed_image");
  });

  it("says which target's default model is missing, without --json too", async () => {
    const run = await runCliAsync(["perf", "--url", server.url, "--target", "florence:<CAPTION>"], withToken);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('has no model "florence2"');
    expect(run.stderr).toContain("--model-name");
  });

  it("refuses a model that takes other inputs than the target sends", async () => {
    const run = await runCliAsync(["perf", "--url", server.url, "--target", "siglip-image", "--model-name", "siglip_text"], withToken);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('model "siglip_text" takes INPUT_IDS INT64 [-1,64]; --target siglip-image sends');
  });

  it("reports the server's 401 without the token", async () => {
    const run = await runCliAsync(["perf", "--url", server.url, "--target", "siglip-text"], { EMB_SERVE_TOKEN: "" });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("HTTP 401");
    expect(run.stderr).toContain("bearer token");
  });

  it("explains a closed port and suggests emb serve", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const run = await runCliAsync(["perf", "--url", url, "--target", "siglip-text"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`cannot connect to ${url}: connection refused`);
    expect(run.stderr).toContain("emb serve");
  });

  it("refuses in-process flags with --url, and --url-only flags without it", async () => {
    const [sweep, model, url, alone] = await Promise.all([
      runCliAsync(["perf", "--url", "http://127.0.0.1:9", "--sweep", "--batch-size", "4", "--dtype", "fp16"]),
      runCliAsync(["perf", "--url", "http://127.0.0.1:9", "--target", "siglip-image", "--model", SIGLIP]),
      runCliAsync(["perf", "--url", "localhost:8000"]),
      runCliAsync(["perf", "--model-name", "siglip_text", "--model", SIGLIP]),
    ]);
    expect(sweep.status).toBe(2);
    expect(sweep.stderr).toContain("--batch-size, --sweep, --dtype set up emb's own runtime");
    expect(sweep.stderr).toContain("--sweep tunes the in-process batcher");
    expect(model.status).toBe(2);
    expect(model.stderr).toContain("--model sets up emb's own runtime");
    expect(url.status).toBe(2);
    expect(url.stderr).toContain("--url localhost:8000");
    expect(alone.status).toBe(2);
    expect(alone.stderr).toContain("--model-name applies only to a server: add --url");
  });
});
