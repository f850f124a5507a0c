/**
 * Rows that could be wrong without a word: a model's weights replaced in place under the same
 * path, run.json lost and another model given, the same images spelled another way on resume,
 * the same failures piling up in errors.jsonl, and zero-shot prompts from another model than an
 * --embeddings folder's images. Each is refused or resumes to exactly one row per input.
 */
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readJsonl } from "../../src/io/jsonl.js";
import { parseNpy } from "../../src/io/npy.js";
import { runCli } from "../helpers/cli.js";
import { fixturePath } from "../helpers/fixtures.js";

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-trust-${name}-`));
const PHOTOS = ["photo_500x375.jpg", "portrait_375x500.jpg", "small_64x48.jpg", "gray_320x240.jpg", "large_1280x720.jpg", "cmyk_320x240.jpg"];

function photos(names: string[], dir = tmp("photos")): string {
  for (const name of names) copyFileSync(fixturePath("images", name), join(dir, name));
  return dir;
}

/** A copy of the tiny SigLIP model, whose files a test may change. */
function modelCopy(): string {
  const dir = join(tmp("model"), "siglip");
  cpSync(fixturePath("siglip-tiny"), dir, { recursive: true });
  return dir;
}

/**
 * Changes the vision graph's content in place, keeping its size, mtime and validity: one letter
 * of the exporter's name (producer_name, which onnxruntime ignores).
 */
function replaceGraphInPlace(model: string): void {
  const graph = join(model, "onnx", "vision_model.onnx");
  const before = statSync(graph);
  const bytes = readFileSync(graph);
  const at = bytes.indexOf("pytorch");
  expect(at).toBeGreaterThan(0);
  bytes[at] = "P".charCodeAt(0);
  writeFileSync(graph, bytes);
  utimesSync(graph, before.atime, before.mtime);
}

const embed = (inputs: string[], model: string, out: string, options: { cwd?: string } = {}) =>
  runCli(["embed", "image", ...inputs, "--model", model, "--out", out, "--no-progress", "--workers", "1"], { EMB_CACHE_DIR: tmp("cache") }, options);

const indexOf = (out: string) => readJsonl<{ row: number; path: string }>(join(out, "index.jsonl"));
const rowsOf = (out: string) => parseNpy(readFileSync(join(out, "embeddings.npy"))).shape[0];

describe("a folder's rows come from one model, proven by content", () => {
  it("refuses to resume after the model's graph was replaced in place, and leaves the rows as they were", () => {
    const model = modelCopy();
    const images = photos(PHOTOS.slice(0, 3));
    const out = join(tmp("out"), "emb");
    expect(embed([images], model, out).status).toBe(0);
    const index = readFileSync(join(out, "index.jsonl"), "utf8");
    photos(PHOTOS.slice(3), images);
    replaceGraphInPlace(model);
    const again = embed([images], model, out);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain(`${out} holds embeddings made with other weights`);
    expect(readFileSync(join(out, "index.jsonl"), "utf8")).toBe(index);
    expect(rowsOf(out)).toBe(3);
  });

  it("refuses a folder whose run.json is gone, whatever model is given", () => {
    const images = photos(PHOTOS.slice(0, 2));
    const out = join(tmp("out"), "emb");
    expect(embed([images], fixturePath("siglip-tiny"), out).status).toBe(0);
    rmSync(join(out, "run.json"));
    const again = embed([images], modelCopy(), out);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain("but no run.json saying which model made them");
    expect(rowsOf(out)).toBe(2);
  });

  it("refuses a folder whose run.json names no fingerprint, saying so instead of 'undefined'", () => {
    const images = photos(PHOTOS.slice(0, 1));
    const out = join(tmp("out"), "emb");
    expect(embed([images], fixturePath("siglip-tiny"), out).status).toBe(0);
    writeFileSync(join(out, "run.json"), JSON.stringify({ command: "embed image" }));
    const again = embed([images], fixturePath("siglip-tiny"), out);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain("whose run.json does not say which model made them (no fingerprint)");
    expect(again.stderr).not.toContain("undefined");
  });

  it("refuses a folder made by an emb that did not record the weights, naming why", () => {
    const images = photos(PHOTOS.slice(0, 2));
    const out = join(tmp("out"), "emb");
    expect(embed([images], fixturePath("siglip-tiny"), out).status).toBe(0);
    const runPath = join(out, "run.json");
    const run = JSON.parse(readFileSync(runPath, "utf8"));
    delete run.fingerprint.weights;
    writeFileSync(runPath, JSON.stringify(run));
    const again = embed([images], fixturePath("siglip-tiny"), out);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain("made by an earlier emb, which did not record the content of the model's files");
  });
});

describe("any spelling of the same inputs resumes", () => {
  it("embeds each image once whether a run names the folder relatively, absolutely or from inside it", () => {
    const root = tmp("work");
    const images = join(root, "photos");
    mkdirSync(images);
    photos(PHOTOS.slice(0, 3), images);
    const first = embed(["photos"], fixturePath("siglip-tiny"), "out", { cwd: root });
    expect(first.status).toBe(0);
    photos(PHOTOS.slice(3, 5), images);
    const absolute = embed([images], fixturePath("siglip-tiny"), join(root, "out"));
    expect(absolute.status).toBe(0);
    expect(absolute.stdout).toContain("2 embedded, 3 unchanged");
    photos(PHOTOS.slice(5), images);
    const inside = embed(["."], fixturePath("siglip-tiny"), join("..", "out"), { cwd: images });
    expect(inside.status).toBe(0);
    expect(inside.stdout).toContain("1 embedded, 5 unchanged");
    const index = indexOf(join(root, "out"));
    expect(index.map((r) => r.row)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(rowsOf(join(root, "out"))).toBe(6);
    // The first run's spelling stays; the others name the same files from the folder's root.
    expect(index[0].path).toBe(join("photos", PHOTOS[0]));
    expect(index[3].path).toBe(join(images, PHOTOS[3]));
    expect(index[5].path).toBe(join(images, PHOTOS[5]));
  });
});

describe("errors.jsonl", () => {
  it("holds one record per failed input however often a run is resumed, and none once the input embeds", () => {
    const images = photos(PHOTOS.slice(0, 2));
    writeFileSync(join(images, "broken.jpg"), "not a jpeg");
    const out = join(tmp("out"), "emb");
    for (let run = 0; run < 3; run++) expect(embed([images], fixturePath("siglip-tiny"), out).status).toBe(3);
    const errors = readJsonl<{ path: string }>(join(out, "errors.jsonl"));
    expect(errors.map((e) => e.path)).toEqual([join(images, "broken.jpg")]);
    copyFileSync(fixturePath("images", PHOTOS[2]), join(images, "broken.jpg"));
    expect(embed([images], fixturePath("siglip-tiny"), out).status).toBe(0);
    expect(readJsonl(join(out, "errors.jsonl"))).toEqual([]);
    expect(rowsOf(out)).toBe(3);
  });
});

describe("knn eval --zero-shot with --embeddings", () => {
  function dataset(): string {
    const data = tmp("knn");
    for (const [label, name] of [
      ["cat", PHOTOS[0]],
      ["dog", PHOTOS[1]],
    ]) {
      mkdirSync(join(data, "valid", label), { recursive: true });
      copyFileSync(fixturePath("images", name), join(data, "valid", label, name));
    }
    return data;
  }
  const knn = (data: string, model: string, embeddings: string) =>
    runCli([
      "knn",
      "eval",
      "--data",
      data,
      "--zero-shot",
      "--model",
      model,
      "--embeddings",
      embeddings,
      "--cache-dir",
      tmp("cache"),
      "--out",
      tmp("report"),
      "--no-progress",
    ]);

  it("refuses prompts from another model than the folder's images, though the model's path is the same", () => {
    const data = dataset();
    const model = modelCopy();
    const embeddings = join(tmp("out"), "emb");
    expect(embed([data], model, embeddings).status).toBe(0);
    expect(knn(data, model, embeddings).status).toBe(0);
    replaceGraphInPlace(model);
    const refused = knn(data, model, embeddings);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("image and text vectors of different models cannot be compared");
  });
});
