import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { readJsonl } from "../../src/io/jsonl.js";
import { readLogitParameters } from "../../src/models/common/logits.js";
import { SiglipTextModel } from "../../src/models/siglip/text.js";
import { runCli } from "../helpers/cli.js";
import { fixturePath, readJson, readNpy } from "../helpers/fixtures.js";
import { parseTowerDtype } from "../../src/models/common/towers.js";

const TINY = fixturePath("siglip-tiny");
const golden = readJson("goldens", "siglip", "goldens.json");
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe("emb classify", () => {
  it("reads SigLIP's logit scale and bias back from the combined graph", async () => {
    const text = await SiglipTextModel.load(TINY, parseTowerDtype("fp32"), { device: "cpu" });
    const p = await readLogitParameters(TINY, parseTowerDtype("fp32"), text, 384, { device: "cpu" });
    await text.release();
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

describe("emb classify on folders: progress, --out, resume", () => {
  const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-classify-${name}-`));
  const LABELS = ["--labels", "a cat,a dog,a red car,a tree"];
  // One image per batch: the same image then gives bit-equal scores whichever run it is in.
  const classify = (args: string[], env: Record<string, string> = {}) =>
    runCli(["classify", ...args, "--model", TINY, ...LABELS, "--batch-size", "1", "--workers", "1"], env);
  /** The fixture images as a_<name>, b_<name>, ... (from `first` on), in sorted walk order. */
  const folderOf = (files: string[], dir = tmp("images"), first = 0) => {
    files.forEach((f, i) => copyFileSync(fixturePath("images", f), join(dir, `${String.fromCharCode(97 + first + i)}_${f}`)));
    return dir;
  };
  const results = (out: string) => readJsonl<{ path: string; labels: { label: string; probability: number }[] }>(join(out, "results.jsonl"));
  const FILES = ["photo_500x375.jpg", "cmyk_320x240.jpg", "gray16_200x150.png", "small_64x48.jpg"];

  it("prints plain progress lines on stderr when it is not a terminal, none with --no-progress; stdout stays JSON", () => {
    const dir = folderOf(FILES);
    const shown = classify([dir], { EMB_PROGRESS_INTERVAL: "0" });
    expect(shown.status, shown.stderr).toBe(0);
    const lines = shown.stderr.split("\n").filter((l) => l.startsWith("classifying: "));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.at(-1)).toMatch(/^classifying: 4\/4 img \(100\.0%\), [\d.]+ img\/s, done in \d+s$/);
    expect(
      shown.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).path),
    ).toHaveLength(4);
    const quiet = classify([dir, "--no-progress"], { EMB_PROGRESS_INTERVAL: "0" });
    expect(quiet.status, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toContain("classifying: ");
    const withOut = classify([dir, "--out", join(tmp("out"), "p")], { EMB_PROGRESS_INTERVAL: "0" });
    expect(withOut.stderr).toMatch(/classifying: 4\/4 img \(100\.0%\)/);
  });

  it("--out writes one record per image with the labels and scores classify prints, and run.json", () => {
    const dir = folderOf(FILES);
    const printed = classify([dir, "--top", "3"]);
    expect(printed.status, printed.stderr).toBe(0);
    const expected = printed.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const out = join(tmp("out"), "labels");
    const run = classify([dir, "--top", "3", "--out", out]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^complete: 4 classified, 0 unchanged, 0 failed of 4 .*; 4 results in .*results\.jsonl$/m);
    const records = results(out);
    expect(records.map((r) => ({ path: r.path, labels: r.labels }))).toEqual(expected);
    expect(records[0]).toMatchObject({ bytes: expect.any(Number), mtimeMs: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const info = JSON.parse(readFileSync(join(out, "run.json"), "utf8"));
    expect(info).toMatchObject({ command: "classify", status: "complete", rows: 4 });
    expect(info.fingerprint).toMatchObject({ labels: ["a cat", "a dog", "a red car", "a tree"], template: "This is a photo of {}.", top: 3 });
  });

  it("resumes: a folder classified in part, then whole, equals one whole run, the first records untouched", () => {
    const dir = folderOf(FILES.slice(0, 2));
    const out = join(tmp("out"), "resume");
    expect(classify([dir, "--out", out, "--json"]).status).toBe(0);
    const first = readFileSync(join(out, "results.jsonl"), "utf8");
    folderOf(FILES.slice(2), dir, 2); // two more images, after the first two in walk order
    const again = classify([dir, "--out", out, "--json"]);
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ classified: 2, unchanged: 2, total: 4, rows: 4 });
    expect(readFileSync(join(out, "results.jsonl"), "utf8").startsWith(first)).toBe(true);
    const whole = join(tmp("out"), "whole");
    expect(classify([dir, "--out", whole]).status).toBe(0);
    expect(results(out)).toEqual(results(whole));
    expect(JSON.parse(classify([dir, "--out", out, "--json"]).stdout)).toMatchObject({ classified: 0, unchanged: 4 });
  });

  it("refuses other labels into the same --out in one sentence naming the labels and the fix (exit 2)", () => {
    const dir = folderOf(FILES.slice(0, 1));
    const out = join(tmp("out"), "mixed");
    expect(classify([dir, "--out", out]).status).toBe(0);
    const other = runCli(["classify", dir, "--model", TINY, "--labels", "a boat,a house", "--out", out]);
    expect(other.status).toBe(2);
    const errors = other.stderr.split("\n").filter((l) => l.startsWith("Error: "));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /holds results made with other labels \(labels \["a cat",.*\], not \["a boat","a house"\]\); choose another --out or remove that folder$/,
    );
    expect(results(out)).toHaveLength(1);
  });

  it("drops a record torn by a kill and classifies that image again", () => {
    const dir = folderOf(FILES.slice(0, 3));
    const out = join(tmp("out"), "torn");
    expect(classify([dir, "--out", out]).status).toBe(0);
    const whole = readFileSync(join(out, "results.jsonl"), "utf8");
    writeFileSync(join(out, "results.jsonl"), whole.slice(0, whole.length - 20));
    const again = classify([dir, "--out", out, "--json"]);
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ classified: 1, unchanged: 2, rows: 3 });
    expect(readFileSync(join(out, "results.jsonl"), "utf8")).toBe(whole);
  });

  it("reports a corrupt image in errors.jsonl, classifies the rest, and exits 3 (some inputs failed)", () => {
    const dir = folderOf(FILES.slice(0, 2));
    writeFileSync(join(dir, "c_broken.jpg"), "not a jpeg");
    const out = join(tmp("out"), "broken");
    const run = classify([dir, "--out", out]);
    expect(run.status, run.stderr).toBe(3);
    expect(run.stdout).toContain("2 classified, 0 unchanged, 1 failed of 3");
    expect(results(out).map((r) => basename(r.path))).toEqual(["a_photo_500x375.jpg", "b_cmyk_320x240.jpg"]);
    const errors = readJsonl<{ path: string; reason: string }>(join(out, "errors.jsonl"));
    expect(errors.map((e) => [basename(e.path), e.reason])).toEqual([["c_broken.jpg", "unreadable"]]);
  });
});

describe("prompt", () => {
  it("puts the label where {} stands, literally, or after the template", async () => {
    const { prompt } = await import("../../src/jobs/classify.js");
    expect(prompt("This is a photo of {}.", "a $& cat")).toBe("This is a photo of a $& cat.");
    expect(prompt("a photo of", "dog")).toBe("a photo of dog");
  });
});
