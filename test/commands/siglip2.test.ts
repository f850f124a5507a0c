/**
 * A SigLIP 2 fixed-resolution model folder as the exporter writes it: SigLIP's graphs with
 * Gemma's tokenizer files and `resample: 2` (bilinear). emb embed text must feed the graph exactly
 * the ids transformers' GemmaTokenizerFast gives for `text.lower()` (goldens from Python), and
 * `--no-lowercase` those for the text as is, recorded in run.json; emb embed image resizes
 * bilinearly. The tiny graphs are SigLIP's (vocabulary 1,000 >= the tokenizer's 600 pieces).
 * From a hub it is read in the onnx-community/siglip2-*-ONNX layout: the tokenizer files
 * (tokenizer.json, tokenizer.model, tokenizer_config.json, special_tokens_map.json),
 * quantize_config.json and the configs at the root, the graphs under onnx/.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJsonl } from "../../src/io/jsonl.js";
import { parseNpy } from "../../src/io/npy.js";
import { parseTowerDtype } from "../../src/models/common/towers.js";
import { SiglipTextModel } from "../../src/models/siglip/text.js";
import { runCli, runCliAsync } from "../helpers/cli.js";
import { startFakeHub } from "../helpers/fake-hub.js";
import { cosine, fixturePath, maxAbsDiff, readJson, readNpy } from "../helpers/fixtures.js";

interface Golden {
  text: string;
  lowercased: { input_ids: number[] };
  as_is: { input_ids: number[] };
}

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-siglip2-${name}-`));

/** siglip-tiny with SigLIP 2's tokenizer and resize. */
function siglip2Folder(): string {
  const dir = join(tmp("model"), "siglip2");
  cpSync(fixturePath("siglip-tiny"), dir, { recursive: true });
  for (const file of ["spiece.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]) rmSync(join(dir, file), { force: true });
  cpSync(fixturePath("siglip2-tokenizer"), dir, { recursive: true });
  const path = join(dir, "preprocessor_config.json");
  writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, "utf8")), resample: 2 }));
  return dir;
}

// Captions with capitals, accents, digits and emoji; one line each (no newlines inside).
const captions = readJson<{ captions: Golden[] }>("goldens", "siglip2", "tokenizer.json")
  .captions.filter((c) => c.text.trim() !== "" && !/[\n\r\u2028\u2029\u0085]/.test(c.text) && c.text !== c.text.toLowerCase())
  .slice(0, 12);

describe("a SigLIP 2 fixed-resolution model", () => {
  let model: string;
  let tower: SiglipTextModel;
  beforeAll(async () => {
    model = siglip2Folder();
    tower = await SiglipTextModel.load(model, parseTowerDtype("fp32"), { device: "cpu", threads: 1 });
  });
  afterAll(() => tower?.release());

  const embedText = (out: string, extra: string[] = []) => {
    const file = join(tmp("captions"), "captions.txt");
    writeFileSync(file, `${captions.map((c) => c.text).join("\n")}\n`);
    return runCli(["embed", "text", "--file", file, "--model", model, "--out", out, "--no-progress", ...extra]);
  };
  const rows = (out: string) => {
    const npy = parseNpy(readFileSync(join(out, "embeddings.npy")));
    const d = npy.shape[1];
    return readJsonl<{ row: number }>(join(out, "index.jsonl")).map((r) => (npy.data as Float32Array).slice(r.row * d, (r.row + 1) * d));
  };

  it("embeds captions lowercased, through exactly transformers' Gemma ids", async () => {
    expect(captions.length).toBeGreaterThanOrEqual(8);
    const out = join(tmp("out"), "text");
    const run = embedText(out);
    expect(run.status, run.stderr).toBe(0);
    const expected = await tower.embedIds(captions.map((c) => c.lowercased.input_ids));
    rows(out).forEach((row, i) => expect(maxAbsDiff(row, expected[i]), captions[i].text).toBeLessThanOrEqual(1e-6));
    const runJson = JSON.parse(readFileSync(join(out, "run.json"), "utf8"));
    expect(runJson.fingerprint.tokenizer).toEqual({ length: 64, padding: "max_length", kind: "gemma", lowercase: true });
  });

  it("keeps the captions' case with --no-lowercase, and a folder of one setting refuses the other", async () => {
    const out = join(tmp("out"), "text");
    expect(embedText(out, ["--no-lowercase"]).status).toBe(0);
    const expected = await tower.embedIds(captions.map((c) => c.as_is.input_ids));
    rows(out).forEach((row, i) => expect(maxAbsDiff(row, expected[i]), captions[i].text).toBeLessThanOrEqual(1e-6));
    const other = embedText(out);
    expect(other.status).toBe(2);
    expect(other.stderr).toContain("tokenizer.lowercase false, not true");
  });

  it("resizes images bilinearly, as its processor says", () => {
    const out = join(tmp("out"), "images");
    const run = runCli(["embed", "image", fixturePath("images", "photo_500x375.jpg"), "--model", model, "--out", out, "--no-progress"]);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, "run.json"), "utf8")).fingerprint.preprocessing.resample).toBe("bilinear");
  });

  it("runs from a hub repository in the onnx-community layout", async () => {
    const repo = join(tmp("repo"), "siglip2");
    cpSync(model, repo, { recursive: true });
    writeFileSync(join(repo, "quantize_config.json"), "{}");
    const hub = await startFakeHub({ "test-org/siglip2-tiny-ONNX": { dir: repo, commit: "c".repeat(40) } });
    try {
      const out = join(tmp("out"), "hub");
      const file = join(tmp("captions"), "captions.txt");
      writeFileSync(file, `${captions[0].text}\n`);
      const run = await runCliAsync(["embed", "text", "--file", file, "--model", "test-org/siglip2-tiny-ONNX", "--out", out, "--no-progress"], {
        HF_ENDPOINT: hub.url,
        HF_HOME: tmp("hf-home"),
      });
      expect(run.status, run.stderr).toBe(0);
      const [expected] = await tower.embedIds([captions[0].lowercased.input_ids]);
      expect(maxAbsDiff(rows(out)[0], expected)).toBeLessThanOrEqual(1e-6);
    } finally {
      await hub.close();
    }
  });
});

/**
 * The tiny SigLIP 2 model built by tools/reference/siglip2_tiny.py (a SiglipModel at 224 with
 * patch 16, Gemma's tokenizer, bilinear resize), against PyTorch's get_image_features and
 * get_text_features, lowercased as the model card says and with --no-lowercase.
 */
describe("a SigLIP 2 model against PyTorch", () => {
  const model = fixturePath("siglip2-tiny");
  const golden = readJson<{ images: { file: string }[]; captions: { text: string }[] }>("goldens", "siglip2", "goldens.json");
  const goldenRows = (array: string) => {
    const npy = readNpy("goldens", "siglip2", array);
    const d = npy.shape[1];
    return Array.from({ length: npy.shape[0] }, (_, i) => (npy.data as Float32Array).slice(i * d, (i + 1) * d));
  };
  const folder = (out: string) => {
    const npy = parseNpy(readFileSync(join(out, "embeddings.npy")));
    const d = npy.shape[1];
    return readJsonl<{ row: number; path?: string }>(join(out, "index.jsonl")).map((r) => ({
      name: r.path?.split("/").pop(),
      row: (npy.data as Float32Array).slice(r.row * d, (r.row + 1) * d),
    }));
  };

  it("embeds every test image as get_image_features after the bilinear resize", () => {
    const out = join(tmp("out"), "tiny-images");
    const run = runCli(["embed", "image", fixturePath("images"), "--model", model, "--out", out, "--no-progress"]);
    expect(run.status, run.stderr).toBe(0);
    const expected = goldenRows("image_embeds.npy");
    const rows = folder(out);
    expect(rows).toHaveLength(golden.images.length);
    for (const { name, row } of rows) {
      const want = expected[golden.images.findIndex((i) => i.file === name)];
      expect(cosine(row, want), name).toBeGreaterThan(0.99999);
      expect(maxAbsDiff(row, want), name).toBeLessThan(1e-4);
    }
  });

  it.each([
    { how: "lowercased", flags: [], array: "text_embeds.npy" },
    { how: "as written (--no-lowercase)", flags: ["--no-lowercase"], array: "text_embeds_cased.npy" },
  ])("embeds captions $how as get_text_features", ({ flags, array }) => {
    const file = join(tmp("captions"), "captions.jsonl");
    writeFileSync(file, golden.captions.map((c) => JSON.stringify({ text: c.text })).join("\n"));
    const out = join(tmp("out"), "tiny-text");
    const run = runCli(["embed", "text", "--file", file, "--model", model, "--out", out, "--no-progress", ...flags]);
    expect(run.status, run.stderr).toBe(0);
    const expected = goldenRows(array);
    folder(out).forEach(({ row }, i) => {
      expect(cosine(row, expected[i]), golden.captions[i].text).toBeGreaterThan(0.99999);
      expect(maxAbsDiff(row, expected[i]), golden.captions[i].text).toBeLessThan(1e-4);
    });
  });
});
