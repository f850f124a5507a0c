/**
 * SigLIP 2 NaFlex end to end against PyTorch (tools/reference/siglip2_naflex_tiny.py): images keep
 * their aspect ratio as Siglip2ImageProcessor resizes them (the patch grid within the budget),
 * run in batches that mix grids, padded to the batch's longest image only, and give Siglip2Model's
 * get_image_features at 256 patches (the processor config's) and 64 (--max-num-patches); captions
 * give get_text_features through Gemma's tokenizer, lowercased.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readJsonl } from "../../src/io/jsonl.js";
import { parseNpy } from "../../src/io/npy.js";
import { runCli, runCliAsync } from "../helpers/cli.js";
import { startFakeHub } from "../helpers/fake-hub.js";
import { cosine, fixturePath, maxAbsDiff, readJson, readNpy } from "../helpers/fixtures.js";

const MODEL = fixturePath("siglip2-naflex-tiny");
const DIR = ["goldens", "siglip2-naflex-model"];
const golden = readJson<{ images: { file: string }[]; captions: { text: string }[] }>(...DIR, "goldens.json");
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-naflex-${name}-`));

function rowsByName(out: string): Map<string, Float32Array> {
  const npy = parseNpy(readFileSync(join(out, "embeddings.npy")));
  const d = npy.shape[1];
  return new Map(
    readJsonl<{ row: number; path: string }>(join(out, "index.jsonl")).map((r) => [
      r.path.split("/").pop()!,
      (npy.data as Float32Array).slice(r.row * d, (r.row + 1) * d),
    ]),
  );
}

function expectImagesEqualPyTorch(out: string, patches: number): void {
  const expected = readNpy(...DIR, `image_embeds_${patches}.npy`);
  const d = expected.shape[1];
  const rows = rowsByName(out);
  expect(rows.size).toBe(golden.images.length);
  golden.images.forEach(({ file }, i) => {
    const want = (expected.data as Float32Array).slice(i * d, (i + 1) * d);
    const row = rows.get(file)!;
    expect(cosine(row, want), file).toBeGreaterThan(0.99999);
    expect(maxAbsDiff(row, want), file).toBeLessThan(1e-4);
  });
}

const embedImages = (out: string, extra: string[] = []) =>
  runCli(["embed", "image", fixturePath("images"), "--model", MODEL, "--out", out, "--no-progress", ...extra]);

describe("a SigLIP 2 NaFlex model", () => {
  it("embeds every test image as get_image_features at the processor's 256 patches, in batches that mix grids", () => {
    const out = join(tmp("out"), "256");
    const run = embedImages(out, ["--batch-size", "16"]);
    expect(run.status, run.stderr).toBe(0);
    expectImagesEqualPyTorch(out, 256);
    const fingerprint = JSON.parse(readFileSync(join(out, "run.json"), "utf8")).fingerprint;
    expect(fingerprint.preprocessing).toMatchObject({ resample: "bilinear", rounding: "processor", patches: { size: 16, maxPatches: 256 } });
  });

  it("gives each image the same row alone as in a batch: padding never changes an embedding", () => {
    const alone = join(tmp("out"), "alone");
    expect(embedImages(alone, ["--batch-size", "1"]).status).toBe(0);
    const batched = join(tmp("out"), "batched");
    expect(embedImages(batched, ["--batch-size", "16"]).status).toBe(0);
    const a = rowsByName(alone);
    for (const [name, row] of rowsByName(batched)) expect(maxAbsDiff(row, a.get(name)!), name).toBeLessThan(1e-5);
  });

  it("--max-num-patches 64 gives PyTorch's features at 64 patches; a folder of one budget refuses the other", () => {
    const out = join(tmp("out"), "64");
    const run = embedImages(out, ["--max-num-patches", "64"]);
    expect(run.status, run.stderr).toBe(0);
    expectImagesEqualPyTorch(out, 64);
    const other = embedImages(out);
    expect(other.status).toBe(2);
    expect(other.stderr).toContain("maxPatches");
  });

  it("embeds captions lowercased as get_text_features", () => {
    const file = join(tmp("captions"), "captions.jsonl");
    writeFileSync(file, golden.captions.map((c) => JSON.stringify({ text: c.text })).join("\n"));
    const out = join(tmp("out"), "text");
    const run = runCli(["embed", "text", "--file", file, "--model", MODEL, "--out", out, "--no-progress"]);
    expect(run.status, run.stderr).toBe(0);
    const expected = readNpy(...DIR, "text_embeds.npy");
    const d = expected.shape[1];
    const npy = parseNpy(readFileSync(join(out, "embeddings.npy")));
    golden.captions.forEach((c, i) => {
      const row = (npy.data as Float32Array).slice(i * d, (i + 1) * d);
      expect(cosine(row, (expected.data as Float32Array).slice(i * d, (i + 1) * d)), c.text).toBeGreaterThan(0.99999);
    });
  });

  it("classifies with the logit scale and bias the exporter records in export_report.json", () => {
    const model = join(tmp("model"), "naflex");
    cpSync(MODEL, model, { recursive: true });
    const [scale, bias] = [7.5, -1.25];
    writeFileSync(join(model, "export_report.json"), JSON.stringify({ family: "siglip2-naflex", classify: { logit_scale: scale, logit_bias: bias } }));
    // labels a labels file keeps as they are: no surrounding whitespace, one line
    const labels = golden.captions
      .map((c) => c.text)
      .filter((t) => t !== "" && t === t.trim() && !/[\r\n]/.test(t))
      .slice(0, 3);
    expect(labels).toHaveLength(3);
    const file = join(tmp("labels"), "labels.txt");
    writeFileSync(file, `${labels.join("\n")}\n`);
    const image = golden.images[0].file;
    const run = runCli(["classify", fixturePath("images", image), "--model", model, "--labels-file", file, "--template", "{}", "--json"]);
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.logits).toEqual({ scale, bias });
    // sigmoid(scale * cos + bias) from PyTorch's embeddings
    const images = readNpy(...DIR, "image_embeds_256.npy");
    const texts = readNpy(...DIR, "text_embeds.npy");
    const d = images.shape[1];
    const imageRow = (images.data as Float32Array).slice(0, d);
    for (const { label, probability } of result.results[0].labels as { label: string; probability: number }[]) {
      const j = golden.captions.findIndex((c) => c.text === label);
      const cos = cosine(imageRow, (texts.data as Float32Array).slice(j * d, (j + 1) * d));
      expect(probability, label).toBeCloseTo(1 / (1 + Math.exp(-(scale * cos + bias))), 5);
    }
  });

  it("--max-num-patches is refused for a model that resizes to one size", () => {
    const run = runCli(["embed", "image", fixturePath("images", "photo_500x375.jpg"), "--model", fixturePath("clip-tiny"), "--max-num-patches", "64"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("--max-num-patches 64 applies to SigLIP 2 NaFlex only");
  });

  it("runs from a hub repository laid out as the exporter writes it", async () => {
    const repo = join(tmp("repo"), "naflex");
    cpSync(MODEL, repo, { recursive: true });
    const hub = await startFakeHub({ "test-org/siglip2-naflex-tiny": { dir: repo, commit: "a".repeat(40) } });
    try {
      const out = join(tmp("out"), "hub");
      const run = await runCliAsync(["embed", "image", fixturePath("images"), "--model", "test-org/siglip2-naflex-tiny", "--out", out, "--no-progress"], {
        HF_ENDPOINT: hub.url,
        HF_HOME: tmp("hf-home"),
      });
      expect(run.status, run.stderr).toBe(0);
      expectImagesEqualPyTorch(out, 256);
    } finally {
      await hub.close();
    }
  });
});
