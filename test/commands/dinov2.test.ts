/**
 * DINOv2, with and without registers, end to end against PyTorch (tools/reference/dinov2_tiny.py):
 * `emb embed image` equals Dinov2Model's pooler_output (the CLS token) on every test image after
 * BitImageProcessor's resize and crop, and with `--pooling mean` the mean of the patch tokens
 * (registers left out). An image-only model: text commands say so; the pooling is part of the
 * output folder's identity; few-shot knn eval runs on it.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readJsonl } from "../../src/io/jsonl.js";
import { parseNpy } from "../../src/io/npy.js";
import { runCli, runCliAsync } from "../helpers/cli.js";
import { startFakeHub } from "../helpers/fake-hub.js";
import { cosine, fixturePath, maxAbsDiff, readJson, readNpy } from "../helpers/fixtures.js";

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-dinov2-${name}-`));

const VARIANTS = [
  { name: "DINOv2", model: fixturePath("dinov2-tiny"), goldens: "plain" },
  { name: "DINOv2 with registers", model: fixturePath("dinov2-registers-tiny"), goldens: "registers" },
];

function expectEqualPyTorch(out: string, goldens: string, array: string): void {
  const names = readJson<{ images: { file: string }[] }>("goldens", "dinov2", goldens, "goldens.json").images.map((i) => i.file);
  const expected = readNpy("goldens", "dinov2", goldens, array);
  const npy = parseNpy(readFileSync(join(out, "embeddings.npy")));
  const d = npy.shape[1];
  expect(d).toBe(expected.shape[1]);
  const records = readJsonl<{ row: number; path: string }>(join(out, "index.jsonl"));
  expect(records).toHaveLength(names.length);
  for (const r of records) {
    const i = names.indexOf(r.path.split("/").pop()!);
    const row = (npy.data as Float32Array).slice(r.row * d, (r.row + 1) * d);
    const want = (expected.data as Float32Array).slice(i * d, (i + 1) * d);
    expect(cosine(row, want), r.path).toBeGreaterThan(0.99999);
    expect(maxAbsDiff(row, want), r.path).toBeLessThan(1e-4);
  }
}

describe.each(VARIANTS)("$name", ({ model, goldens }) => {
  it("embeds every test image as PyTorch's CLS token (pooler_output), after BitImageProcessor's resize and crop", () => {
    const out = join(tmp("out"), "cls");
    const run = runCli(["embed", "image", fixturePath("images"), "--model", model, "--out", out, "--no-progress"]);
    expect(run.status, run.stderr).toBe(0);
    expectEqualPyTorch(out, goldens, "pooler_output.npy");
    const fingerprint = JSON.parse(readFileSync(join(out, "run.json"), "utf8")).fingerprint;
    expect(fingerprint.pooling).toBe("cls");
    expect(fingerprint.preprocessing).toMatchObject({ width: 224, height: 224, shortestEdge: 256, resample: "bicubic", rounding: "processor" });
  });

  it("with --pooling mean, the mean of the patch tokens; a folder of one pooling refuses the other", () => {
    const out = join(tmp("out"), "mean");
    const run = runCli(["embed", "image", fixturePath("images"), "--model", model, "--out", out, "--pooling", "mean", "--no-progress"]);
    expect(run.status, run.stderr).toBe(0);
    expectEqualPyTorch(out, goldens, "mean_patch.npy");
    const other = runCli(["embed", "image", fixturePath("images"), "--model", model, "--out", out, "--no-progress"]);
    expect(other.status).toBe(2);
    expect(other.stderr).toContain("pooling");
  });
});

describe("an image-only model", () => {
  const model = fixturePath("dinov2-tiny");

  it("is refused by the commands that need a text tower, in one sentence naming it", () => {
    for (const args of [
      ["embed", "text", "a photo of a cat", "--model", model],
      ["classify", fixturePath("images", "photo_500x375.jpg"), "--model", model, "--labels", "cat,dog"],
    ]) {
      const run = runCli(args);
      expect(run.status, args.join(" ")).toBe(2);
      expect(run.stderr).toContain(`${model}: DINOv2 is an image-only model: it has no text tower`);
    }
  });

  it("runs few-shot knn eval", () => {
    const data = tmp("data");
    const images = readJson<{ images: { file: string }[] }>("goldens", "dinov2", "plain", "goldens.json").images.map((i) => i.file);
    for (const split of ["train", "valid"]) {
      images.forEach((file, i) => {
        const dir = join(data, split, i % 2 ? "odd" : "even");
        mkdirSync(dir, { recursive: true });
        cpSync(fixturePath("images", file), join(dir, file));
      });
    }
    const out = join(tmp("out"), "knn");
    const run = runCli(["knn", "eval", "-d", data, "--model", model, "-k", "1", "--exact", "--json", "--out", out, "--cache-dir", tmp("cache")]);
    expect(run.status, run.stderr).toBe(0);
    // every valid image is also a train image of the same class: its nearest neighbour is itself
    const [fewShot] = JSON.parse(run.stdout).methods;
    expect(fewShot).toMatchObject({ method: "10-shot", queries: images.length, top1: 1 });
  });

  it("resolves from a hub repository in the onnx-community layout and by its short name", async () => {
    const repo = join(tmp("repo"), "dinov2");
    cpSync(model, repo, { recursive: true });
    writeFileSync(join(repo, "quantize_config.json"), "{}");
    const hub = await startFakeHub({ "onnx-community/dinov2-small": { dir: repo, commit: "f".repeat(40) } });
    try {
      const out = join(tmp("out"), "hub");
      const run = await runCliAsync(["embed", "image", fixturePath("images"), "--model", "dinov2", "--out", out, "--no-progress"], {
        HF_ENDPOINT: hub.url,
        HF_HOME: tmp("hf-home"),
      });
      expect(run.status, run.stderr).toBe(0);
      expectEqualPyTorch(out, "plain", "pooler_output.npy");
      expect(JSON.parse(readFileSync(join(out, "run.json"), "utf8")).fingerprint.commit).toBe("f".repeat(40));
    } finally {
      await hub.close();
    }
  });
});
