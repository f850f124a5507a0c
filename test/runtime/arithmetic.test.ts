/**
 * The arithmetic counted from onnxruntime's profile equals a hand count from the model's
 * config.json (the tiny SigLIP's vision tower: patch convolution, two encoder layers, the
 * attention-pooling head), and the peak estimate follows the rules it states.
 */
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { arithmeticOfProfiles, convolutionOps, matrixProductOps } from "../../src/runtime/arithmetic.js";
import { cpuPeakFrom, opsPerCycle } from "../../src/runtime/cpu-peak.js";
import { ModelSession } from "../../src/runtime/session.js";
import { fixturePath, readJson } from "../helpers/fixtures.js";

describe("arithmetic of a model run", () => {
  it("counts a matrix product from its shapes, whichever side is broadcast or transposed", () => {
    // [2, 729, 32] x weight [32, 64] (the weight absent from the profile): 2 x 2*729 x 32 x 64
    expect(matrixProductOps([2, 729, 32], undefined, [2, 729, 64])).toBe(2 * 2 * 729 * 32 * 64);
    // one query row against 729 keys, 4 heads on the middle axis: 4 x 1 x 729 x 16 multiply-adds
    expect(matrixProductOps([1, 4, 16], [729, 4, 16], [4, 1, 729])).toBe(2 * 4 * 729 * 16);
    // A broadcast over B's batch: B covers it
    expect(matrixProductOps([5, 8], [3, 8, 7], [3, 5, 7])).toBe(2 * 3 * 5 * 8 * 7);
    expect(convolutionOps([32, 3, 14, 14], [2, 32, 27, 27])).toBe(2 * 2 * 32 * 27 * 27 * 3 * 14 * 14);
  });

  it("the tiny SigLIP vision tower's profile gives the multiply-adds its config implies", async () => {
    const dir = mkdtempSync(join(tmpdir(), "emb-profile-"));
    const session = await ModelSession.open(fixturePath("siglip-tiny", "onnx", "vision_model.onnx"), {
      device: "cpu",
      threads: 1,
      profilePrefix: join(dir, "vision"),
    });
    const batch = 2;
    await session.run({ pixel_values: { type: "float32", data: new Float32Array(batch * 3 * 384 * 384), dims: [batch, 3, 384, 384] } });
    await session.release();
    const files = readdirSync(dir).map((f) => join(dir, f));
    expect(files).toHaveLength(1);
    const counted = arithmeticOfProfiles(files);

    const v = readJson("siglip-tiny", "config.json").vision_config;
    const side = Math.floor(v.image_size / v.patch_size); // the stride-14 convolution fits 27 patches in 384
    const [B, S, H, I] = [batch, side * side, v.hidden_size, v.intermediate_size];
    const mac = (...dims: number[]) => 2 * dims.reduce((a, d) => a * d, 1);
    const patches = mac(B, H, S, v.num_channels * v.patch_size * v.patch_size);
    // q, k, v, o projections; scores and weighted values over all heads; the MLP's two layers
    const layer = 4 * mac(B, S, H, H) + 2 * mac(B, S, S, H) + mac(B, S, H, I) + mac(B, S, I, H);
    // the pooling head: a probe's query, keys and values of every token, its attention, out projection, MLP
    const head = mac(B, 1, H, H) + 2 * mac(B, S, H, H) + 2 * mac(B, 1, S, H) + mac(B, H, H) + mac(B, H, I) + mac(B, I, H);
    expect(counted.ops).toBe(patches + v.num_hidden_layers * layer + head);
    expect(counted.uncounted).toEqual({});
  });

  it("sessions opened with one profile prefix each write a profile of their own", async () => {
    // emb perf counts a model of several graphs (Florence-2) from one prefix: each graph's kernels must be in a file.
    const dir = mkdtempSync(join(tmpdir(), "emb-profile-"));
    const open = (graph: string) =>
      ModelSession.open(fixturePath("siglip-tiny", "onnx", graph), { device: "cpu", threads: 1, profilePrefix: join(dir, "model") });
    const sessions = [await open("vision_model.onnx"), await open("text_model.onnx")];
    for (const session of sessions) await session.release();
    expect(readdirSync(dir)).toHaveLength(2);
  });

  it("estimates the peak from vendor, family, flags, cores and clock", () => {
    const zen4 = `vendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2596.142\ncpu cores\t: 2\nphysical id\t: 0\nflags\t\t: fpu sse avx avx2 fma avx512f avx512_bf16\n`;
    const peak = cpuPeakFrom(zen4, undefined, 2);
    expect(peak).toMatchObject({ cores: 2, clockSource: "cpuinfo MHz", opsPerCycle: 32 });
    expect(peak.gflops).toBeCloseTo(2 * 2.596142 * 32, 9);
    // a cpufreq maximum wins over the current clock; hyperthreads share a core's FMA units
    const xeon = `vendor_id\t: GenuineIntel\ncpu family\t: 6\ncpu MHz\t\t: 1200.000\ncpu cores\t: 8\nphysical id\t: 0\nflags\t\t: avx avx2 fma avx512f\n`;
    expect(cpuPeakFrom(xeon, 3_500_000, 16)).toMatchObject({ cores: 8, clockGHz: 3.5, clockSource: "cpufreq max", opsPerCycle: 64, gflops: 8 * 3.5 * 64 });
    expect(opsPerCycle("AuthenticAMD", 26, new Set(["avx512f", "fma"]), "x64").ops).toBe(64);
    expect(opsPerCycle("GenuineIntel", 6, new Set(["avx2", "fma"]), "x64").ops).toBe(32);
    expect(cpuPeakFrom("", undefined, 4)).toMatchObject({ cores: 4, clockSource: "unknown", gflops: undefined });
  });
});
