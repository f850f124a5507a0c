/**
 * `emb perf --url ... --collect-metrics` against `emb serve`: the server's CPU metrics, read while
 * measuring, land in the JSON and as perf_analyzer-style columns at the end of the CSV, from the
 * separate metrics port (no token) or the HTTP port's /metrics (the token sent there only); the
 * metrics flags without --collect-metrics or --url are usage errors. No value is asserted beyond its range.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliAsync } from "../helpers/cli.js";
import { SIGLIP, startServe, type RunningServer } from "../helpers/serve.js";

const TOKEN = "metrics-s3cret";
const fast = ["--target", "siglip-text", "--concurrency", "2", "--measurement-interval", "600", "--stability-percentage", "90", "--max-trials", "4"];

interface Metrics {
  samples: number;
  avgCpuUtilization: number;
  maxCpuMemoryUsedBytes: number;
  totalCpuMemoryBytes: number;
}

let server: RunningServer;

beforeAll(async () => {
  server = await startServe(["--model", `siglip=${SIGLIP}`, "--no-grpc"], { EMB_SERVE_TOKEN: TOKEN });
});

afterAll(async () => {
  await server?.stop();
});

function checkMetrics(m: Metrics) {
  expect(m.samples).toBeGreaterThan(0);
  expect(m.avgCpuUtilization).toBeGreaterThanOrEqual(0);
  expect(m.avgCpuUtilization).toBeLessThanOrEqual(1);
  expect(m.maxCpuMemoryUsedBytes).toBeGreaterThan(0);
  expect(m.maxCpuMemoryUsedBytes).toBeLessThanOrEqual(m.totalCpuMemoryBytes);
}

describe("emb perf --collect-metrics", () => {
  it("reads the metrics port while measuring and adds CPU utilization and memory to the JSON and CSV", async () => {
    const csv = join(mkdtempSync(join(tmpdir(), "emb-perf-metrics-")), "perf.csv");
    const metricsHostPort = server.metrics!.replace(/^http:\/\//, "");
    // perf_analyzer's form: host:port/path without a scheme.
    const run = await runCliAsync(
      ["perf", "--url", server.url, ...fast, "--collect-metrics", "--metrics-url", metricsHostPort, "--metrics-interval", "100", "--csv", csv, "--json"],
      { EMB_SERVE_TOKEN: TOKEN },
    );
    expect(run.status, run.stderr).toBe(0);
    const [result] = JSON.parse(run.stdout).results as { serverMetrics: Metrics }[];
    checkMetrics(result.serverMetrics);
    // No cell of a one-level run holds a comma or a quote.
    const [head, cells] = readFileSync(csv, "utf8")
      .trim()
      .split("\n")
      .map((line) => line.split(","));
    const row = Object.fromEntries(head.map((h, i) => [h, cells[i]]));
    expect(Object.keys(row).slice(-3)).toEqual(["Avg CPU Utilization", "Max CPU Memory Usage", "Total CPU Memory"]);
    expect(Number(row["Avg CPU Utilization"])).toBeCloseTo(result.serverMetrics.avgCpuUtilization, 5);
    expect(Number(row["Max CPU Memory Usage"])).toBe(result.serverMetrics.maxCpuMemoryUsedBytes);
    expect(Number(row["Total CPU Memory"])).toBe(result.serverMetrics.totalCpuMemoryBytes);
    expect(row["p99 latency"]).not.toBe("");
  });

  it("reads /metrics on the HTTP port with the token, and says so in the progress", async () => {
    const run = await runCliAsync(
      ["perf", "--url", server.url, ...fast, "--collect-metrics", "--metrics-url", `${server.url}/metrics`, "--metrics-interval", "100"],
      {
        EMB_SERVE_TOKEN: TOKEN,
      },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/Server metrics \(\d+ scrapes\): CPU \d+\.\d% avg, memory \d+\.\d of \d+\.\d GiB max/);
    expect(run.stderr).not.toMatch(/cannot read/);
  });

  it("warns and leaves the columns empty when the metrics cannot be read", async () => {
    const run = await runCliAsync(["perf", "--url", server.url, ...fast, "--collect-metrics", "--metrics-url", "127.0.0.1:9/metrics", "--json"], {
      EMB_SERVE_TOKEN: TOKEN,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/--collect-metrics: cannot read http:\/\/127\.0\.0\.1:9\/metrics/);
    const [result] = JSON.parse(run.stdout).results as { serverMetrics: Metrics }[];
    expect(result.serverMetrics).toEqual({ samples: 0, avgCpuUtilization: null, maxCpuMemoryUsedBytes: null, totalCpuMemoryBytes: null });
  });

  it("refuses the metrics flags without --collect-metrics, and --collect-metrics without --url", async () => {
    const [without, local] = await Promise.all([
      runCliAsync(["perf", "--url", server.url, "--metrics-url", "localhost:8002/metrics"]),
      runCliAsync(["perf", "--collect-metrics", "--model", SIGLIP]),
    ]);
    expect(without.status).toBe(2);
    expect(without.stderr).toContain("--metrics-url needs --collect-metrics");
    expect(local.status).toBe(2);
    expect(local.stderr).toContain("--collect-metrics applies only to a server: add --url");
  });
});
