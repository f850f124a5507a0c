/**
 * emb retrieval eval end to end with the tiny SigLIP model: its recall@k equals recall computed
 * here, in double precision, from the vectors `emb embed image` and `emb embed text` give the same
 * images and captions (every caption a text->image query, every image an image->text query that
 * hits when any of its captions ranks within k); the same numbers from precomputed folders; an
 * unreadable image left out with its captions; and the refusals a user meets.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readJsonl } from "../../src/io/jsonl.js";
import { parseNpy } from "../../src/io/npy.js";
import { runCli } from "../helpers/cli.js";
import { fixturePath } from "../helpers/fixtures.js";

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-retrieval-${name}-`));
const model = fixturePath("siglip-tiny");

const PHOTOS = [
  "photo_500x375.jpg",
  "portrait_375x500.jpg",
  "gray_320x240.jpg",
  "cmyk_320x240.jpg",
  "photo_320x240.webp",
  "large_1280x720.jpg",
  "alpha_300x200.png",
];
const CAPTIONS = [
  ["a photo of a street", "buildings under a blue sky", "a city view"],
  ["a tall portrait", "a person standing"],
  ["a gray picture", "black and white photo", "a monochrome scene", "grey tones"],
  ["printed colours", "a magazine page"],
  ["a small webp photo"],
  ["a wide landscape", "a large image of hills", "mountains at noon"],
  ["a transparent logo", "a shape on a clear background"],
];

/** A Karpathy-format annotation file over copies of the fixture photos (filepath "val"), plus train images that must be ignored. */
function karpathyDataset(root: string, extra: { filename: string; sentences: string[] }[] = []): string {
  mkdirSync(join(root, "val"), { recursive: true });
  for (const name of PHOTOS) copyFileSync(join(fixturePath("images"), name), join(root, "val", name));
  const entry = (filename: string, sentences: string[], split: string) => ({
    filepath: "val",
    filename,
    split,
    sentences: sentences.map((raw) => ({ raw, tokens: raw.split(" ") })),
  });
  const images = [
    entry("small_64x48.jpg", ["a train image"], "train"),
    ...PHOTOS.map((name, i) => entry(name, CAPTIONS[i], "test")),
    ...extra.map((e) => entry(e.filename, e.sentences, "test")),
  ];
  const file = join(root, "dataset_coco.json");
  writeFileSync(file, JSON.stringify({ images, dataset: "coco" }));
  return file;
}

function vectors(dir: string): Float64Array[] {
  const npy = parseNpy(readFileSync(join(dir, "embeddings.npy")));
  const d = npy.shape[1];
  return readJsonl<{ row: number }>(join(dir, "index.jsonl")).map((r) => Float64Array.from((npy.data as Float32Array).subarray(r.row * d, (r.row + 1) * d)));
}

const cosine = (a: Float64Array, b: Float64Array) => {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
};

/** Recall@k over images (in PHOTOS order) and captions, ranked by cosine, equal scores to the lower index. */
function referenceRecall(images: Float64Array[], texts: Float64Array[], textImage: number[], ks: number[]): Record<string, number> {
  const rankOf = (scores: number[], positives: number[]) =>
    Math.min(...positives.map((p) => scores.filter((s, j) => s > scores[p] || (s === scores[p] && j < p)).length));
  const t2i = texts.map((t, i) =>
    rankOf(
      images.map((img) => cosine(t, img)),
      [textImage[i]],
    ),
  );
  const i2t = images.map((img, i) =>
    rankOf(
      texts.map((t) => cosine(img, t)),
      textImage.flatMap((owner, t) => (owner === i ? [t] : [])),
    ),
  );
  const out: Record<string, number> = {};
  for (const k of ks) {
    out[`image_retrieval_recall@${k}`] = t2i.filter((r) => r < k).length / t2i.length;
    out[`text_retrieval_recall@${k}`] = i2t.filter((r) => r < k).length / i2t.length;
  }
  return out;
}

function evaluate(args: string[]) {
  const run = runCli(["retrieval", "eval", "--model", model, "--no-progress", "--json", ...args]);
  return { ...run, json: run.status === 0 || run.status === 3 ? JSON.parse(run.stdout) : undefined };
}

describe("emb retrieval eval", () => {
  const root = tmp("data");
  let annotations: string;
  let imageFolder: string;
  let textFolder: string;
  let expected: Record<string, number>;
  const ks = [1, 2, 5];
  beforeAll(() => {
    annotations = karpathyDataset(root);
    imageFolder = join(tmp("images"), "emb");
    textFolder = join(tmp("texts"), "emb");
    const captionsFile = join(root, "captions.txt");
    writeFileSync(captionsFile, `${CAPTIONS.flat().join("\n")}\n`);
    const images = runCli(["embed", "image", ...PHOTOS.map((p) => join(root, "val", p)), "--model", model, "--out", imageFolder, "--no-progress"]);
    expect(images.status, images.stderr).toBe(0);
    const texts = runCli(["embed", "text", "--file", captionsFile, "--model", model, "--out", textFolder, "--no-progress"]);
    expect(texts.status, texts.stderr).toBe(0);
    const textImage = CAPTIONS.flatMap((captions, i) => captions.map(() => i));
    expected = referenceRecall(vectors(imageFolder), vectors(textFolder), textImage, ks);
  });

  /** The evaluation from precomputed image folders and the caption folder: every vector from them, the same numbers. */
  function fromFolders(images: string[]) {
    const args = ["--annotations", annotations, "--images", root, ...images.flatMap((d) => ["--embeddings", d]), "--text-embeddings", textFolder];
    const run = evaluate([...args, "--cache-dir", tmp("cache"), "--out", join(tmp("out"), "r"), ...ks.flatMap((k) => ["-k", String(k)])]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.json.images).toMatchObject({ fromEmbeddingsFolder: 7, embedded: 0 });
    for (const [name, value] of Object.entries(expected)) expect(run.json.metrics[name], name).toBeCloseTo(value, 12);
    return run;
  }

  it("equals recall computed from emb embed image and emb embed text vectors, on the test split only", () => {
    const out = join(tmp("out"), "r");
    const run = evaluate(["--annotations", annotations, "--images", root, "--cache-dir", tmp("cache"), "--out", out, ...ks.flatMap((k) => ["-k", String(k)])]);
    expect(run.status, run.stderr).toBe(0);
    expect(Object.keys(run.json.metrics)).toEqual(ks.flatMap((k) => [`image_retrieval_recall@${k}`, `text_retrieval_recall@${k}`]));
    for (const [name, value] of Object.entries(expected)) expect(run.json.metrics[name], name).toBeCloseTo(value, 12);
    expect(run.json).toMatchObject({
      task: "zeroshot_retrieval",
      format: "karpathy",
      split: "test",
      images: { annotated: 7, evaluated: 7 },
      captions: { annotated: 17, evaluated: 17 },
    });
    // the report on disk is what --json printed; queries.jsonl has every query's rank
    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
    expect(report.metrics).toEqual(run.json.metrics);
    const queries = readJsonl<{ query: string; rank: number }>(join(out, "queries.jsonl"));
    expect(queries.filter((q) => q.query === "text")).toHaveLength(17);
    expect(queries.filter((q) => q.query === "image")).toHaveLength(7);
    expect(queries.filter((q) => q.query === "text" && q.rank < 1).length / 17).toBeCloseTo(expected["image_retrieval_recall@1"], 12);
  });

  it("takes precomputed image and caption folders and gives the same numbers without loading the model", () => {
    const run = fromFolders([imageFolder]);
    expect(run.json.captions.fromTextEmbeddingsFolder).toBe(17);
  });

  it("reads the image vectors from the shard folders of one job together", () => {
    const shards = [0, 1].map((i) => {
      const out = join(tmp(`shard-${i}`), "emb");
      const run = runCli(["embed", "image", join(root, "val"), "--model", model, "--out", out, "--shard", `${i}/2`, "--no-progress"]);
      expect(run.status, run.stderr).toBe(0);
      return out;
    });
    fromFolders(shards);
  });

  it("reads BLIP's [{image, caption}] list and COCO's captions file to the same numbers", () => {
    const list = join(root, "coco_karpathy_test.json");
    writeFileSync(list, JSON.stringify(PHOTOS.map((name, i) => ({ image: `val/${name}`, caption: CAPTIONS[i] }))));
    const coco = join(root, "captions_val.json");
    writeFileSync(
      coco,
      JSON.stringify({
        images: PHOTOS.map((name, i) => ({ id: 100 + i, file_name: name })),
        annotations: CAPTIONS.flatMap((captions, i) => captions.map((caption, j) => ({ id: i * 10 + j, image_id: 100 + i, caption }))),
      }),
    );
    const cache = tmp("cache");
    const fromList = evaluate(["--annotations", list, "--images", root, "--cache-dir", cache, "--out", join(tmp("out"), "r"), "-k", "1", "-k", "5"]);
    const fromCoco = evaluate([
      "--annotations",
      coco,
      "--images",
      join(root, "val"),
      "--cache-dir",
      cache,
      "--out",
      join(tmp("out"), "r"),
      "-k",
      "1",
      "-k",
      "5",
    ]);
    for (const run of [fromList, fromCoco]) {
      expect(run.status, run.stderr).toBe(0);
      expect(run.json.metrics["image_retrieval_recall@1"]).toBeCloseTo(expected["image_retrieval_recall@1"], 12);
      expect(run.json.metrics["text_retrieval_recall@5"]).toBeCloseTo(expected["text_retrieval_recall@5"], 12);
    }
    expect(fromList.json.format).toBe("blip");
    expect(fromCoco.json.format).toBe("coco");
  });

  it("leaves out an unreadable image with its captions, says so, and scores the rest (exit 3: some inputs failed)", () => {
    const data = tmp("broken");
    const withBroken = karpathyDataset(data, [{ filename: "broken.jpg", sentences: ["a broken file", "nothing to see"] }]);
    writeFileSync(join(data, "val", "broken.jpg"), Buffer.from("this is not a JPEG"));
    const run = evaluate([
      "--annotations",
      withBroken,
      "--images",
      data,
      "--cache-dir",
      tmp("cache"),
      "--out",
      join(tmp("out"), "r"),
      "-k",
      "1",
      "-k",
      "2",
      "-k",
      "5",
    ]);
    expect(run.status, run.stderr).toBe(3);
    expect(run.json.images).toMatchObject({ annotated: 8, evaluated: 7, failed: 1 });
    expect(run.json.captions).toMatchObject({ annotated: 19, evaluated: 17 });
    expect(run.json.failures[0].path).toContain("broken.jpg");
    expect(run.json.notes.join("\n")).toContain("their 2 caption(s) are left out");
    for (const [name, value] of Object.entries(expected)) expect(run.json.metrics[name], name).toBeCloseTo(value, 12);
  });

  it("refuses a caption folder from another model, a missing split and a file that is not annotations", () => {
    const otherText = join(tmp("other"), "emb");
    const other = runCli(["embed", "text", "a photo", "--model", fixturePath("clip-tiny"), "--out", otherText, "--no-progress"]);
    expect(other.status, other.stderr).toBe(0);
    const common = ["--images", root, "--cache-dir", tmp("cache"), "--out", join(tmp("out"), "r")];
    const mixed = runCli([
      "retrieval",
      "eval",
      "--model",
      model,
      "--annotations",
      annotations,
      "--embeddings",
      imageFolder,
      "--text-embeddings",
      otherText,
      ...common,
    ]);
    expect(mixed.status).toBe(2);
    expect(mixed.stderr).toContain("image and text vectors of different models cannot be compared");
    const split = runCli(["retrieval", "eval", "--model", model, "--annotations", annotations, "--split", "val", ...common]);
    expect(split.status).toBe(2);
    expect(split.stderr).toContain('no image in split "val"; its splits are test, train (--split)');
    const notAnnotations = join(root, "not.json");
    writeFileSync(notAnnotations, JSON.stringify({ hello: "world" }));
    const wrong = runCli(["retrieval", "eval", "--model", model, "--annotations", notAnnotations, ...common]);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain("not an annotation file emb knows");
  });
});
