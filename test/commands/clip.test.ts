/**
 * CLIP end to end, against PyTorch (tools/reference/clip_tiny.py): `emb embed image` equals
 * get_image_features on every test image (CLIPImageProcessor's shortest-edge resize and center
 * crop included), `emb embed text` equals get_text_features with CLIPTokenizerFast's ids and
 * mask, and `emb classify` gives softmax(logits_per_image) over the labels. The model is read
 * from a folder and from a hub repository in the transformers.js layout (Xenova/clip-vit-*),
 * also by its short name.
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

const MODEL = fixturePath("clip-tiny");
const golden = readJson<{ images: { file: string }[]; captions: { text: string }[]; logit_scale: number }>("goldens", "clip", "goldens.json");
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-clip-${name}-`));

/** Rows of an output folder by the name of the file (images) or by input order (captions). */
function folderRows(out: string): { key: string; row: Float32Array }[] {
  const npy = parseNpy(readFileSync(join(out, "embeddings.npy")));
  const d = npy.shape[1];
  return readJsonl<{ row: number; path?: string; text?: string }>(join(out, "index.jsonl")).map((r) => ({
    key: r.path ? r.path.split("/").pop()! : (r.text ?? ""),
    row: (npy.data as Float32Array).slice(r.row * d, (r.row + 1) * d),
  }));
}

function goldenRow(array: string, index: number): Float32Array {
  const npy = readNpy("goldens", "clip", array);
  const d = npy.shape[1];
  return (npy.data as Float32Array).slice(index * d, (index + 1) * d);
}

function expectImagesEqualPyTorch(out: string): void {
  const rows = folderRows(out);
  expect(rows).toHaveLength(golden.images.length);
  for (const { key, row } of rows) {
    const expected = goldenRow(
      "image_embeds.npy",
      golden.images.findIndex((i) => i.file === key),
    );
    expect(cosine(row, expected), key).toBeGreaterThan(0.99999);
    expect(maxAbsDiff(row, expected), key).toBeLessThan(1e-4);
  }
}

describe("a CLIP model", () => {
  it("embeds every test image as PyTorch's get_image_features, after CLIPImageProcessor's resize and crop", () => {
    const out = join(tmp("out"), "images");
    const run = runCli(["embed", "image", fixturePath("images"), "--model", MODEL, "--out", out, "--no-progress"]);
    expect(run.status, run.stderr).toBe(0);
    expectImagesEqualPyTorch(out);
    const fingerprint = JSON.parse(readFileSync(join(out, "run.json"), "utf8")).fingerprint;
    expect(fingerprint.preprocessing).toMatchObject({ width: 224, height: 224, shortestEdge: 224, resample: "bicubic", rounding: "processor" });
  });

  it("embeds captions as PyTorch's get_text_features: CLIPTokenizerFast's 77 ids, masked after <|endoftext|>", () => {
    const file = join(tmp("captions"), "captions.jsonl");
    writeFileSync(file, golden.captions.map((c) => JSON.stringify({ text: c.text })).join("\n"));
    const out = join(tmp("out"), "text");
    const run = runCli(["embed", "text", "--file", file, "--model", MODEL, "--out", out, "--no-progress"]);
    expect(run.status, run.stderr).toBe(0);
    const rows = folderRows(out);
    expect(rows).toHaveLength(golden.captions.length);
    rows.forEach(({ row }, i) => {
      const expected = goldenRow("text_embeds.npy", i);
      expect(cosine(row, expected), golden.captions[i].text).toBeGreaterThan(0.99999);
      expect(maxAbsDiff(row, expected), golden.captions[i].text).toBeLessThan(1e-4);
    });
    expect(JSON.parse(readFileSync(join(out, "run.json"), "utf8")).fingerprint.tokenizer).toMatchObject({ kind: "clip", length: 77 });
  });

  it("classifies with the softmax of PyTorch's logits over the labels, the scale read from the combined graph", () => {
    const picked = [0, 2, 7, 8];
    const labels = join(tmp("labels"), "labels.txt");
    writeFileSync(labels, `${picked.map((c) => golden.captions[c].text.trim()).join("\n")}\n`);
    const logits = readNpy("goldens", "clip", "logits_per_image.npy");
    const columns = logits.shape[1];
    for (const image of ["photo_500x375.jpg", "gray_256x256.png", "exif_rot90_400x300.jpg"]) {
      const run = runCli(["classify", fixturePath("images", image), "--model", MODEL, "--labels-file", labels, "--template", "{}", "--json"]);
      expect(run.status, run.stderr).toBe(0);
      const result = JSON.parse(run.stdout);
      expect(result.logits.scale).toBeCloseTo(golden.logit_scale, 4);
      expect(result.logits.probabilities).toBe("softmax");
      const i = golden.images.findIndex((g) => g.file === image);
      const row = picked.map((c) => (logits.data as Float32Array)[i * columns + c]);
      const top = Math.max(...row);
      const sum = row.reduce((a, x) => a + Math.exp(x - top), 0);
      const expected = Object.fromEntries(picked.map((c, j) => [golden.captions[c].text.trim(), Math.exp(row[j] - top) / sum]));
      const got = result.results[0].labels as { label: string; probability: number }[];
      expect(got.map((l) => l.label)).toEqual(Object.keys(expected).sort((a, b) => expected[b] - expected[a]));
      for (const l of got) expect(l.probability, `${image} ${l.label}`).toBeCloseTo(expected[l.label], 5);
    }
  });

  it("runs from a hub repository in the transformers.js layout, and by its short name", async () => {
    const repo = join(tmp("repo"), "clip");
    cpSync(MODEL, repo, { recursive: true });
    writeFileSync(join(repo, "quantize_config.json"), "{}");
    const hub = await startFakeHub({
      "test-org/clip-tiny": { dir: repo, commit: "d".repeat(40) },
      "Xenova/clip-vit-base-patch32": { dir: repo, commit: "e".repeat(40) },
    });
    try {
      const env = { HF_ENDPOINT: hub.url, HF_HOME: tmp("hf-home") };
      for (const model of ["test-org/clip-tiny", "clip"]) {
        const out = join(tmp("out"), "hub");
        const run = await runCliAsync(["embed", "image", fixturePath("images"), "--model", model, "--out", out, "--no-progress"], env);
        expect(run.status, run.stderr).toBe(0);
        expectImagesEqualPyTorch(out);
        const runJson = JSON.parse(readFileSync(join(out, "run.json"), "utf8"));
        expect(runJson.fingerprint.model).toBe(model === "clip" ? "Xenova/clip-vit-base-patch32" : model);
        // only what the image tower needs is downloaded
        expect(runJson.model.files.sort()).toEqual(["config.json", "onnx/vision_model.onnx", "preprocessor_config.json"]);
      }
    } finally {
      await hub.close();
    }
  });

  it("refuses --pooling, which only DINOv2 has", () => {
    const run = runCli(["embed", "image", fixturePath("images", "photo_500x375.jpg"), "--model", MODEL, "--pooling", "mean"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("--pooling mean applies to DINOv2 only; CLIP pools inside its graph");
  });
});
