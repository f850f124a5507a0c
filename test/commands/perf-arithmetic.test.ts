/**
 * `emb perf`'s arithmetic: the operations per item it reports are a hand count from the tiny
 * SigLIP's config.json over the profiled batch, and each row's GFLOP/s and share of the peak are
 * what that count makes of the row's own throughput. No test asserts a speed.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { fixturePath, readJson } from "../helpers/fixtures.js";

const SIGLIP = fixturePath("siglip-tiny");
const fast = ["--measurement-interval", "150", "--stability-percentage", "90", "--max-trials", "4", "--no-progress"];

interface RowArithmetic {
  opsPerItem: number;
  gflops: number;
  peakShare: number | null;
}

/** The tiny SigLIP vision tower's operations for a batch of `batch` (as test/runtime/arithmetic.test.ts counts them). */
function visionOps(batch: number): number {
  const v = readJson("siglip-tiny", "config.json").vision_config;
  const side = Math.floor(v.image_size / v.patch_size);
  const [B, S, H, I] = [batch, side * side, v.hidden_size, v.intermediate_size];
  const mac = (...dims: number[]) => 2 * dims.reduce((a, d) => a * d, 1);
  const patches = mac(B, H, S, v.num_channels * v.patch_size * v.patch_size);
  const layer = 4 * mac(B, S, H, H) + 2 * mac(B, S, S, H) + mac(B, S, H, I) + mac(B, S, I, H);
  const head = mac(B, 1, H, H) + 2 * mac(B, S, H, H) + 2 * mac(B, 1, S, H) + mac(B, H, H) + mac(B, H, I) + mac(B, I, H);
  return patches + v.num_hidden_layers * layer + head;
}

describe("emb perf's arithmetic", () => {
  it("counts the image tower's operations per item from one profiled batch, and each row's GFLOP/s and share of the peak", () => {
    const batch = 3;
    const out = mkdtempSync(join(tmpdir(), "emb-perf-flops-"));
    const csvPath = join(out, "perf.csv");
    const run = runCli([
      ...["perf", "--target", "siglip-image", "--model", SIGLIP, "--device", "cpu", "--image-size", "64x48"],
      ...["--concurrency", "1:3:2", "--batch-size", String(batch), "--csv", csvPath, "--chart", join(out, "chart"), ...fast, "--json"],
    ]);
    expect(run.status, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout);
    const a = json.arithmetic;
    expect(a).toMatchObject({ items: batch, batches: 1, provider: "cpu", uncounted: {}, lowerBound: false });
    expect(a.opsPerItem).toBe(visionOps(batch) / batch);
    expect(a.opsPerItem).toBe(visionOps(1));
    const peak: number | undefined = a.peak.gflops;
    expect(json.results).toHaveLength(2);
    for (const r of json.results as { throughput: number; arithmetic: RowArithmetic }[]) {
      expect(r.arithmetic.opsPerItem).toBe(a.opsPerItem);
      expect(r.arithmetic.gflops).toBeCloseTo((a.opsPerItem * r.throughput) / 1e9, 9);
      if (peak === undefined) expect(r.arithmetic.peakShare).toBeNull();
      else expect(r.arithmetic.peakShare).toBeCloseTo(r.arithmetic.gflops / peak, 12);
    }
    // The CSV's arithmetic columns come last, after every column it had before.
    // No cell of these rows holds a comma (batch sizes are "size:count" pairs apart by spaces).
    const [header, ...rows] = readFileSync(csvPath, "utf8")
      .trim()
      .split("\n")
      .map((line) => line.split(","));
    expect(header.slice(-3)).toEqual(["Ops Per Item", "Achieved GFLOPS", "Share of FP32 Peak"]);
    expect(header.slice(0, 2)).toEqual(["Concurrency", "Inferences/Second"]);
    for (const row of rows) {
      const r = json.results.find((x: { concurrency: number }) => String(x.concurrency) === row[0]);
      expect(Number(row.at(-3))).toBe(a.opsPerItem);
      expect(Number(row.at(-2))).toBeCloseTo(r.arithmetic.gflops, 3);
    }
  });

  it("prints the count per item and how the peak is estimated; --no-arithmetic leaves it out", () => {
    const shown = runCli(["perf", "--target", "siglip-text", "--model", SIGLIP, "--device", "cpu", "--batch-size", "2", "--concurrency", "2", ...fast], {
      NO_COLOR: "1",
    });
    expect(shown.status, shown.stderr).toBe(0);
    expect(shown.stdout).toContain("│ GFLOP/s │ % fp32 peak │");
    expect(shown.stdout).toMatch(/^arithmetic: [\d.]+ GFLOP per item, counted from onnxruntime's profile of 2 items in 1 batch$/m);
    expect(shown.stdout).toMatch(
      /^the CPU's fp32 peak, estimated: [\d.]+ GFLOP\/s = \d+ cores x .* fp32 ops\/cycle \(.*\), .+$|^the CPU's fp32 peak is unknown/m,
    );

    const skipped = runCli(["perf", "--target", "siglip-text", "--model", SIGLIP, "--concurrency", "2", "--no-arithmetic", ...fast, "--json"]);
    expect(skipped.status, skipped.stderr).toBe(0);
    const json = JSON.parse(skipped.stdout);
    expect(json.arithmetic).toBeNull();
    expect(json.results[0].arithmetic).toBeUndefined();
  });
});
