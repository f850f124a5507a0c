/**
 * The library entry (src/index.ts, the package's "exports") against the reference goldens:
 * SigLIP embeddings, Florence-2 tasks, KNN evaluation, COCO caption scores and .npy files, and
 * the errors a caller gets for bad input.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CocoInputError,
  Embedder,
  Florence2,
  ImageInputError,
  knnEvaluate,
  ModelCapabilityError,
  npyRows,
  readNpy,
  scoreCaptions,
  SiglipEmbedder,
  TaskError,
  writeNpy,
} from "../../src/index.js";
import { cosine, fixturePath, maxAbsDiff, readJson, readNpy as readGolden } from "../helpers/fixtures.js";

const siglipGolden = readJson("goldens", "siglip", "goldens.json");
const florenceGolden = readJson("goldens", "florence2", "goldens.json");

function goldenRows(array: string): Float32Array[] {
  const npy = readGolden("goldens", "siglip", array);
  return npyRows(npy);
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "emb-api-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("SiglipEmbedder", () => {
  let siglip: SiglipEmbedder;
  beforeAll(async () => {
    siglip = await SiglipEmbedder.open({ model: fixturePath("siglip-tiny"), device: "cpu", threads: 1 });
  });
  afterAll(() => siglip?.close());

  it("embeds image files as PyTorch does, in input order, whatever the batch size", async () => {
    const files = siglipGolden.images.slice(0, 5).map((i: { file: string }) => i.file);
    const golden = goldenRows("vision_pooler_output.npy");
    const vectors = await siglip.embedImages(
      files.map((f: string) => fixturePath("images", f)),
      { batchSize: 2 },
    );
    expect(vectors).toHaveLength(5);
    vectors.forEach((v, i) => expect(cosine(v, golden[i]), files[i]).toBeGreaterThanOrEqual(0.9999));
    expect(siglip.dim).toBe(golden[0].length);
  });

  it("normalize gives PyTorch's L2-normalised image_embeds and text_embeds", async () => {
    const [image] = await siglip.embedImages([readFileSync(fixturePath("images", siglipGolden.images[0].file))], { normalize: true });
    expect(maxAbsDiff(image, goldenRows("image_embeds.npy")[0])).toBeLessThan(1e-4);
    const texts = siglipGolden.captions.map((c: { text: string }) => c.text);
    const normalized = await siglip.embedTexts(texts, { normalize: true, batchSize: 5 });
    const expected = goldenRows("text_embeds.npy");
    normalized.forEach((v, i) => expect(maxAbsDiff(v, expected[i]), texts[i]).toBeLessThan(1e-4));
  });

  it("embeds texts as PyTorch's text tower does", async () => {
    const texts = siglipGolden.captions.map((c: { text: string }) => c.text);
    const vectors = await siglip.embedTexts(texts);
    const expected = goldenRows("text_pooler_output.npy");
    vectors.forEach((v, i) => expect(maxAbsDiff(v, expected[i]), texts[i]).toBeLessThan(1e-4));
  });

  it("names the input it cannot read or decode", async () => {
    const good = fixturePath("images", "small_64x48.jpg");
    await expect(siglip.embedImages([good, Buffer.from("not an image")])).rejects.toThrow(ImageInputError);
    await expect(siglip.embedImages([good, Buffer.from("not an image")])).rejects.toThrow(/^image #1 \(12 bytes\): /);
    const missing = join(work, "missing.jpg");
    await expect(siglip.embedImages([missing])).rejects.toThrow(`${missing}: ENOENT`);
    await expect(siglip.embedImages([good], { batchSize: 0 })).rejects.toThrow("batchSize must be a whole number >= 1, not 0");
    await expect(siglip.embedTexts(["ok", 7 as unknown as string])).rejects.toThrow("text #1 is a number, not a string");
  });
});

describe("Embedder with the other families", () => {
  it("embeds a CLIP model's images and texts as PyTorch's get_image_features / get_text_features", async () => {
    const clip = await Embedder.open({ model: fixturePath("clip-tiny"), device: "cpu", threads: 1 });
    try {
      const golden = readJson("goldens", "clip", "goldens.json");
      const files: string[] = golden.images.slice(0, 3).map((i: { file: string }) => i.file);
      const images = await clip.embedImages(files.map((f) => fixturePath("images", f)));
      const imageRows = npyRows(readGolden("goldens", "clip", "image_embeds.npy"));
      images.forEach((v, i) => expect(cosine(v, imageRows[i]), files[i]).toBeGreaterThan(0.99999));
      const texts = await clip.embedTexts(golden.captions.slice(0, 3).map((c: { text: string }) => c.text));
      const textRows = npyRows(readGolden("goldens", "clip", "text_embeds.npy"));
      texts.forEach((v, i) => expect(cosine(v, textRows[i])).toBeGreaterThan(0.99999));
    } finally {
      await clip.close();
    }
  });

  it("embeds a DINOv2 model's images (CLS, or the patch mean) and refuses texts: it is image-only", async () => {
    const golden = readJson("goldens", "dinov2", "plain", "goldens.json");
    const file = golden.images[0].file as string;
    for (const [pooling, array] of [
      ["cls", "pooler_output.npy"],
      ["mean", "mean_patch.npy"],
    ] as const) {
      const dino = await Embedder.open({ model: fixturePath("dinov2-tiny"), device: "cpu", threads: 1, pooling });
      try {
        const [vector] = await dino.embedImages([fixturePath("images", file)]);
        expect(cosine(vector, npyRows(readGolden("goldens", "dinov2", "plain", array))[0])).toBeGreaterThan(0.99999);
        expect(dino.info.text).toBeUndefined();
        await expect(dino.embedTexts(["a cat"])).rejects.toThrow(ModelCapabilityError);
      } finally {
        await dino.close();
      }
    }
  });
});

describe("Florence2", () => {
  let florence: Florence2;
  beforeAll(async () => {
    florence = await Florence2.open({ model: fixturePath("florence2-tiny"), device: "cpu", threads: 1 });
  });
  afterAll(() => florence?.close());

  it("runs a task on an image file as transformers' generate and post-processing do", async () => {
    for (const c of florenceGolden.cases.slice(0, 2)) {
      const answer = await florence.run(c.task, fixturePath("images", c.image), {
        text: c.text ?? undefined,
        maxNewTokens: florenceGolden.generation.max_new_tokens,
      });
      expect(answer.generated, c.task).toBe(c.beam.decoded);
      expect(answer.result, c.task).toEqual(c.beam.parsed);
      expect([answer.width, answer.height]).toEqual(c.image_size);
    }
  });

  it("refuses an unknown task and a missing text with the valid choices", async () => {
    const image = fixturePath("images", "small_64x48.jpg");
    await expect(florence.run("<CAPTIONS>", image)).rejects.toThrow(TaskError);
    await expect(florence.run("<CAPTIONS>", image)).rejects.toThrow(/valid tasks: <CAPTION>, <DETAILED_CAPTION>/);
    await expect(florence.run("<CAPTION_TO_PHRASE_GROUNDING>", image)).rejects.toThrow(/needs --text/);
  });
});

describe("knnEvaluate", () => {
  const cases = readJson("goldens", "knn", "synthetic.json").cases;

  it("gives scikit-learn's predictions and top-1/top-5 on the synthetic goldens", async () => {
    for (const c of cases) {
      const vectors = (rows: number[][]) => rows.map((r) => Float32Array.from(r));
      const result = await knnEvaluate(
        { vectors: vectors(c.train.vectors), labels: c.train.labels },
        { vectors: vectors(c.valid.vectors), labels: c.valid.labels },
        { k: c.expected.k, weighting: c.expected.weights },
      );
      expect(
        result.predictions.map((p) => p.predicted),
        c.name,
      ).toEqual(c.expected.predict);
      expect(result.top1, c.name).toBeCloseTo(c.expected.top1, 12);
      expect(result.top5, c.name).toBeCloseTo(c.expected.top5, 12);
    }
  });

  it("refuses vectors and labels that do not pair up", async () => {
    const v = [new Float32Array([1, 0]), new Float32Array([0, 1])];
    await expect(knnEvaluate({ vectors: v, labels: ["a"] }, { vectors: v, labels: ["a", "b"] })).rejects.toThrow("references: 2 vectors but 1 labels");
    await expect(knnEvaluate({ vectors: v, labels: ["a", "b"] }, { vectors: [new Float32Array(3)], labels: ["a"] })).rejects.toThrow(
      "queries have 3 values per vector, references 2",
    );
  });
});

describe("scoreCaptions", () => {
  const golden = readJson("goldens", "coco", "metrics.json");
  const meteorGolden = readJson("goldens", "coco", "meteor.json");
  const annotations = fixturePath("coco", "captions_test.json");

  it("scores a results file as pycocoevalcap does (METEOR without a paraphrase table: the jar's exact/stem/synonym)", async () => {
    const scores = await scoreCaptions(annotations, fixturePath("coco", "results_test.json"));
    for (const metric of ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L", "CIDEr"]) {
      expect(Math.abs(scores.metrics[metric] - golden.corpus[metric]), metric).toBeLessThanOrEqual(1e-6);
    }
    expect(Math.abs(scores.metrics.METEOR - meteorGolden.results.no_paraphrase.coco.corpus)).toBeLessThanOrEqual(1e-6);
    expect(scores.images).toBe(golden.image_ids.length);
  });

  it("takes the results as entries, and names the bad ones", async () => {
    const entries = JSON.parse(readFileSync(fixturePath("coco", "results_test.json"), "utf8"));
    const scores = await scoreCaptions(annotations, entries, { metrics: ["cider"] });
    expect(Math.abs(scores.metrics.CIDEr - golden.corpus.CIDEr)).toBeLessThanOrEqual(1e-6);
    expect(Object.keys(scores.metrics)).toEqual(["CIDEr"]);
    await expect(scoreCaptions(annotations, [...entries, { image_id: 999_999_999, caption: "a cat" }])).rejects.toThrow(CocoInputError);
    await expect(scoreCaptions(annotations, [...entries, { image_id: 999_999_999, caption: "a cat" }])).rejects.toThrow(/999999999/);
    await expect(scoreCaptions(annotations, entries, { metrics: ["spice" as "bleu"] })).rejects.toThrow(
      "unknown metrics spice; choose from bleu, meteor, rouge, cider",
    );
  });
});

describe("readNpy and writeNpy", () => {
  it("write what numpy wrote, byte for byte in the data, and read it back", () => {
    const golden = readGolden("goldens", "siglip", "text_embeds.npy");
    const path = join(work, "rows.npy");
    writeNpy(path, npyRows(golden));
    const back = readNpy(path);
    expect(back.dtype).toBe("float32");
    expect(back.shape).toEqual(golden.shape);
    expect(Buffer.from((back.data as Float32Array).buffer)).toEqual(Buffer.from((golden.data as Float32Array).buffer));
  });

  it("refuse ragged rows and name a file that is not .npy", () => {
    expect(() => writeNpy(join(work, "ragged.npy"), [new Float32Array(3), new Float32Array(2)])).toThrow("row 1 has 2 values, row 0 has 3");
    const bad = join(work, "bad.npy");
    writeFileSync(bad, "hello");
    expect(() => readNpy(bad)).toThrow(`${bad}: the file is not a .npy file`);
  });
});
