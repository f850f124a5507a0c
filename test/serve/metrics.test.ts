/**
 * `emb serve`'s Prometheus metrics, read with a Prometheus text-format parser: after successful
 * and failed requests the counts are what was sent and equal /v2/models/stats, field by field;
 * Triton's names, labels and types; the separate metrics port answers /metrics alone and without
 * the token, /metrics on the HTTP port follows the token, --no-metrics-port leaves the latter only.
 */
import parsePrometheusTextFormat, { type PrometheusFamily } from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captionIds, type RunningServer, SIGLIP, startServe } from "../helpers/serve.js";

let server: RunningServer;

const TRITON_COUNTERS = [
  "nv_inference_request_success",
  "nv_inference_request_failure",
  "nv_inference_count",
  "nv_inference_exec_count",
  "nv_inference_request_duration_us",
  "nv_inference_queue_duration_us",
  "nv_inference_compute_input_duration_us",
  "nv_inference_compute_infer_duration_us",
  "nv_inference_compute_output_duration_us",
];

function textRequest(rows: number, datatype = "INT64") {
  const ids = Array.from({ length: rows }, (_, i) => captionIds(i % 3)).flat();
  return fetch(`${server.url}/v2/models/siglip_text/infer`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ inputs: [{ name: "INPUT_IDS", shape: [rows, 64], datatype, data: ids }] }),
  });
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<Map<string, PrometheusFamily>> {
  const res = await fetch(url, { headers });
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  lastText = text;
  return new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
}

/** The text of the latest scrape. */
let lastText = "";

/**
 * One labelled histogram of a scrape, read from its sample lines: parse-prometheus-text-format
 * folds the buckets of every label set of a histogram into one, so it cannot tell models apart.
 */
function histogram(text: string, family: string, model: string) {
  const buckets: Record<string, number> = {};
  let sum: number | undefined;
  let count: number | undefined;
  for (const line of text.split("\n")) {
    const m = new RegExp(`^${family}_(bucket|sum|count)\\{([^}]*)\\} (\\S+)$`).exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (labels.model !== model) continue;
    expect(labels.version).toBe("1");
    if (m[1] === "bucket") buckets[labels.le] = Number(m[3]);
    else if (m[1] === "sum") sum = Number(m[3]);
    else count = Number(m[3]);
  }
  expect(sum, `${family}_sum{model="${model}"}`).toBeDefined();
  expect(buckets["+Inf"]).toBe(count);
  return { buckets, sum: sum!, count: count! };
}

/** The one sample of `family` for a model, version 1. */
function sample(families: Map<string, PrometheusFamily>, family: string, model: string) {
  const samples = families.get(family)?.metrics.filter((m) => m.labels?.model === model) ?? [];
  expect(samples, `${family}{model="${model}"}`).toHaveLength(1);
  expect(samples[0].labels).toEqual({ model, version: "1" });
  return samples[0];
}
const value = (families: Map<string, PrometheusFamily>, family: string, model: string) => Number(sample(families, family, model).value);

const us = (d: { ns: number }) => Math.round(d.ns / 1000);

describe("emb serve: Prometheus metrics", () => {
  beforeAll(async () => {
    // A queue delay so that concurrent requests batch together.
    server = await startServe(["--model", `siglip=${SIGLIP}`, "--max-queue-delay-us", "20000"]);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  it("counts what was sent, equal to /v2/models/stats, with Triton's names, labels and types", async () => {
    const sizes = [1, 2, 1, 3, 1, 1];
    const answers = await Promise.all(sizes.map((rows) => textRequest(rows)));
    for (const res of answers) expect(res.status).toBe(200);
    // A datatype the model does not take fails inside the model's request handling, as Triton counts failures.
    for (let i = 0; i < 2; i++) expect((await textRequest(1, "INT32")).status).toBe(400);

    const families = await scrape(`${server.url}/metrics`);
    const [stats] = (await (await fetch(`${server.url}/v2/models/siglip_text/stats`)).json()).model_stats;
    const get = (family: string) => value(families, family, "siglip_text");

    expect(get("nv_inference_request_success")).toBe(sizes.length);
    expect(get("nv_inference_request_failure")).toBe(2);
    expect(get("nv_inference_count")).toBe(sizes.reduce((a, b) => a + b));
    const s = stats.inference_stats;
    expect(get("nv_inference_request_success")).toBe(s.success.count);
    expect(get("nv_inference_request_failure")).toBe(s.fail.count);
    expect(get("nv_inference_count")).toBe(stats.inference_count);
    expect(get("nv_inference_exec_count")).toBe(stats.execution_count);
    expect(get("nv_inference_request_duration_us")).toBe(us(s.success));
    expect(get("nv_inference_queue_duration_us")).toBe(us(s.queue));
    expect(get("nv_inference_compute_input_duration_us")).toBe(us(s.compute_input));
    expect(get("nv_inference_compute_infer_duration_us")).toBe(us(s.compute_infer));
    expect(get("nv_inference_compute_output_duration_us")).toBe(us(s.compute_output));
    expect(get("nv_inference_request_duration_us")).toBeGreaterThan(0);
    expect(get("nv_inference_pending_request_count")).toBe(0);
    expect(get("emb_preprocess_duration_us")).toBeGreaterThan(0);

    for (const name of TRITON_COUNTERS) {
      expect(families.get(name)!.type, name).toBe("COUNTER");
      expect(families.get(name)!.help, name).not.toBe("");
    }
    expect(families.get("nv_inference_pending_request_count")!.type).toBe("GAUGE");
    // Every served model has its series, those without requests at 0.
    expect(value(families, "nv_inference_request_success", "siglip_vision")).toBe(0);

    // The batch size histogram is batch_stats: one observation per execution, its sum the rows.
    const batchSizes = histogram(lastText, "emb_batch_size", "siglip_text");
    expect(families.get("emb_batch_size")!.type).toBe("HISTOGRAM");
    expect(batchSizes.count).toBe(stats.execution_count);
    expect(batchSizes.sum).toBe(stats.inference_count);
    const batches = stats.batch_stats as { batch_size: number; compute_infer: { count: number } }[];
    for (const [le, count] of Object.entries(batchSizes.buckets)) {
      const bound = le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le);
      expect(Number(count), `le=${le}`).toBe(batches.filter((b) => b.batch_size <= bound).reduce((a, b) => a + b.compute_infer.count, 0));
    }

    const cpu = Number(families.get("nv_cpu_utilization")!.metrics[0].value);
    expect(cpu).toBeGreaterThanOrEqual(0);
    expect(cpu).toBeLessThanOrEqual(1);
    const total = Number(families.get("nv_cpu_memory_total_bytes")!.metrics[0].value);
    const used = Number(families.get("nv_cpu_memory_used_bytes")!.metrics[0].value);
    expect(total).toBeGreaterThan(0);
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(total);

    // A second scrape after more requests counts them, the histogram only the new executions.
    expect((await textRequest(2)).status).toBe(200);
    const again = await scrape(`${server.url}/metrics`);
    expect(value(again, "nv_inference_count", "siglip_text")).toBe(stats.inference_count + 2);
    expect(again.has("emb_batch_size")).toBe(true);
    expect(histogram(lastText, "emb_batch_size", "siglip_text").sum).toBe(stats.inference_count + 2);
  });

  it("serves the same metrics on the separate metrics port, and nothing else there", async () => {
    expect(server.metrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const [main, separate] = [await scrape(`${server.url}/metrics`), await scrape(server.metrics!)];
    for (const name of TRITON_COUNTERS) expect(value(separate, name, "siglip_text"), name).toBe(value(main, name, "siglip_text"));
    const other = await fetch(server.metrics!.replace(/\/metrics$/, "/v2/models/stats"));
    expect(other.status).toBe(404);
    expect((await fetch(server.metrics!, { method: "POST" })).status).toBe(405);
  });
});

describe("emb serve: metrics and the bearer token", () => {
  it("/metrics on the HTTP port needs the token, the metrics port does not; --no-metrics-port has no metrics port", async () => {
    const token = "metrics-token";
    const guarded = await startServe(["--model", `siglip=${SIGLIP}`, "--no-grpc"], { EMB_SERVE_TOKEN: token });
    try {
      expect((await fetch(`${guarded.url}/metrics`)).status).toBe(401);
      expect((await scrape(`${guarded.url}/metrics`, { Authorization: `Bearer ${token}` })).has("nv_inference_count")).toBe(true);
      expect(guarded.stderr()).toMatch(/metrics on http:\/\/\S+\/metrics \(no token\)/);
      expect((await scrape(guarded.metrics!)).has("nv_inference_count")).toBe(true);
    } finally {
      await guarded.stop();
    }
    const single = await startServe(["--model", `siglip=${SIGLIP}`, "--no-grpc", "--no-metrics-port"]);
    try {
      expect(single.metrics).toBeUndefined();
      expect((await scrape(`${single.url}/metrics`)).has("nv_cpu_utilization")).toBe(true);
    } finally {
      await single.stop();
    }
  }, 120_000);
});
