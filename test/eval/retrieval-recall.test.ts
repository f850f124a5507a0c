/**
 * Recall@k against CLIP_benchmark 1.6.2's own zeroshot_retrieval.evaluate run on the same stored
 * vectors (tools/reference/retrieval_goldens.py). Where no scores tie, CLIP_benchmark's numbers
 * are matched exactly; where they tie, torch.topk's choice among equal scores is arbitrary, so emb
 * (equal scores to the lower index) is checked against the reference's own lower-index-first
 * count and the bounds over every tie order.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseNpy } from "../../src/io/npy.js";
import { RetrievalInputError, retrievalRanks, retrievalRecall } from "../../src/eval/retrieval/recall.js";
import { fixturePath } from "../helpers/fixtures.js";

interface Golden {
  text_image: number[];
  recall_k: number[];
  metrics: Record<string, number>;
  metrics_tie_bounds: Record<string, [number, number]>;
  tie_investigation?: { per_metric: Record<string, { metric_if_lower_index_first: string }> };
}

function golden(name: string) {
  const dir = fixturePath(join("goldens", "retrieval"));
  const rows = (file: string) => {
    const npy = parseNpy(readFileSync(join(dir, file)));
    const [n, d] = npy.shape;
    return Array.from({ length: n }, (_, i) => (npy.data as Float32Array).slice(i * d, (i + 1) * d));
  };
  const json = JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8")) as Golden;
  return { images: rows(`${name}.images.npy`), texts: rows(`${name}.texts.npy`), json };
}

describe("retrieval recall@k", () => {
  for (const name of ["basic", "uneven", "small"]) {
    it(`equals CLIP_benchmark on the ${name} case (no tie decides a hit)`, async () => {
      const { images, texts, json } = golden(name);
      const metrics = await retrievalRecall({ images, texts, textImage: json.text_image }, json.recall_k);
      expect(Object.keys(metrics)).toEqual(Object.keys(json.metrics));
      // CLIP_benchmark averages in float32: equal to its 7 significant digits
      for (const [metric, value] of Object.entries(json.metrics)) expect(metrics[metric], metric).toBeCloseTo(value, 6);
      for (const [metric, [low, high]] of Object.entries(json.metrics_tie_bounds)) expect(low, metric).toBe(high);
    });
  }

  it("ranks equal scores lower index first, as the reference counts it, within the bounds of every tie order", async () => {
    const { images, texts, json } = golden("ties");
    const metrics = await retrievalRecall({ images, texts, textImage: json.text_image }, json.recall_k);
    for (const [metric, info] of Object.entries(json.tie_investigation!.per_metric)) {
      expect(metrics[metric], metric).toBeCloseTo(Number(info.metric_if_lower_index_first), 6);
      const [low, high] = json.metrics_tie_bounds[metric];
      expect(metrics[metric]).toBeGreaterThanOrEqual(low - 1e-7);
      expect(metrics[metric]).toBeLessThanOrEqual(high + 1e-7);
    }
  });

  it("is unchanged by the vectors' lengths and by the order of the image list", async () => {
    const { images, texts, json } = golden("basic");
    const base = await retrievalRanks({ images, texts, textImage: json.text_image });
    const scaled = await retrievalRanks({ images: images.map((v, i) => v.map((x) => x * (i + 1) * 0.37)), texts, textImage: json.text_image });
    expect(scaled).toEqual(base);
    const order = images.map((_, i) => images.length - 1 - i);
    const reversed = await retrievalRanks({ images: order.map((i) => images[i]), texts, textImage: json.text_image.map((i) => images.length - 1 - i) });
    expect(Array.from(reversed.textToImage)).toEqual(Array.from(base.textToImage));
  });

  it("a hand-worked case: equal scores go to the lower index", async () => {
    // images on the axes; caption 0 lies between images 0 and 1 (nearer 1), caption 1 on image 1,
    // caption 2 on image 0 though it describes image 2, which scores 0 with it (as image 1 does)
    const images = [Float32Array.of(1, 0, 0), Float32Array.of(0, 1, 0), Float32Array.of(0, 0, 1)];
    const texts = [Float32Array.of(1, 2, 0), Float32Array.of(0, 3, 0), Float32Array.of(5, 0, 0)];
    const { textToImage, imageToText } = await retrievalRanks({ images, texts, textImage: [0, 1, 2] });
    // caption 0: image 1 (0.894) beats image 0 (0.447); caption 2: image 0 (1), then image 1 (0, lower index) before image 2 (0)
    expect(Array.from(textToImage)).toEqual([1, 0, 2]);
    // image 0: caption 2 (1) beats caption 0 (0.447); image 2 scores 0 with every caption: its own (2) comes last
    expect(Array.from(imageToText)).toEqual([1, 0, 2]);
    const metrics = await retrievalRecall({ images, texts, textImage: [0, 1, 2] }, [1, 2]);
    expect(metrics).toEqual({
      "image_retrieval_recall@1": 1 / 3,
      "text_retrieval_recall@1": 1 / 3,
      "image_retrieval_recall@2": 2 / 3,
      "text_retrieval_recall@2": 2 / 3,
    });
  });

  it("refuses what cannot be scored, naming it", async () => {
    const v = Float32Array.of(1, 0);
    await expect(retrievalRecall({ images: [v], texts: [v], textImage: [0] }, [0])).rejects.toThrow("recall@0: k must be a whole number of at least 1");
    await expect(retrievalRanks({ images: [v, v], texts: [v], textImage: [0] })).rejects.toThrow("image 1 has no caption");
    await expect(retrievalRanks({ images: [v], texts: [v], textImage: [3] })).rejects.toThrow(RetrievalInputError);
    await expect(retrievalRanks({ images: [v], texts: [Float32Array.of(1, 0, 0)], textImage: [0] })).rejects.toThrow("vectors of different lengths (2 and 3)");
  });
});
