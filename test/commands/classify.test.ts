import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { readLogitParameters } from "../../src/models/siglip/logits.js";
import { runCli } from "../helpers/cli.js";
import { fixturePath, readJson, readNpy } from "../helpers/fixtures.js";
import { parseSiglipDtype } from "../../src/models/siglip/graphs.js";

const TINY = fixturePath("siglip-tiny");
const golden = readJson("goldens", "siglip", "goldens.json");
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe("emb classify", () => {
  it("reads SigLIP's logit scale and bias back from the combined graph", async () => {
    const p = await readLogitParameters(TINY, parseSiglipDtype("fp32"), 384, { device: "cpu" });
    expect(p.scale).toBeCloseTo(Math.exp(golden.logit_scale), 3);
    expect(p.bias).toBeCloseTo(golden.logit_bias, 3);
  });

  it("gives each image PyTorch's sigmoid(logits_per_image) for every label, ranked", () => {
    // Captions whose text survives the label file's trimming; logits columns follow caption order.
    const columns = [0, 1, 3, 8];
    const labels: string[] = columns.map((c) => golden.captions[c].text);
    const file = join(mkdtempSync(join(tmpdir(), "emb-labels-")), "labels.txt");
    writeFileSync(file, labels.join("\n"));
    const images = ["photo_500x375.jpg", "cmyk_320x240.jpg", "gray16_200x150.png"].map((f) => fixturePath("images", f));
    const result = runCli(["classify", ...images, "--model", TINY, "--labels-file", file, "--template", "{}", "--top", "10", "--json"]);
    expect(result.status, result.stderr).toBe(0);
    const { results } = JSON.parse(result.stdout);
    const logits = readNpy("goldens", "siglip", "logits_per_image.npy");
    const n = logits.shape[1];
    for (const r of results) {
      const i = golden.images.findIndex((g: { file: string }) => g.file === basename(r.path));
      expect(r.labels).toHaveLength(4);
      const probabilities = r.labels.map((l: { probability: number }) => l.probability);
      expect(probabilities).toEqual([...probabilities].sort((a, b) => b - a));
      for (const { label, probability } of r.labels) {
        const expected = sigmoid((logits.data as Float32Array)[i * n + columns[labels.indexOf(label)]]);
        expect(probability).toBeCloseTo(expected, 5);
      }
    }
  });

  it("asks for labels when none are given", () => {
    const result = runCli(["classify", fixturePath("images"), "--model", TINY]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('no labels: pass --labels "cat,dog" or --labels-file');
  });
});

describe("prompt", () => {
  it("puts the label where {} stands, literally, or after the template", async () => {
    const { prompt } = await import("../../src/pipeline/classify.js");
    expect(prompt("This is a photo of {}.", "a $& cat")).toBe("This is a photo of a $& cat.");
    expect(prompt("a photo of", "dog")).toBe("a photo of dog");
  });
});
