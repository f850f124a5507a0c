/**
 * Image-text retrieval recall@k as CLIP_benchmark computes it (zeroshot_retrieval): every caption
 * is a text->image query that hits when its own image is among the k best-scoring images; every
 * image is an image->text query that hits when any of its captions is among the k best-scoring
 * captions. Scores are cosine similarities: float32 unit rows multiplied in float32, as torch does.
 * Equal scores are ranked by index, lower first (what torch.topk gives on CPU for them), so a
 * positive tied with the k-th candidate counts only if it comes earlier in the list.
 */
import { TransposedProduct } from "../../runtime/matmul.js";

export const DEFAULT_RECALL_K = [1, 5, 10] as const;

/** CLIP_benchmark's metric names: "image_retrieval" is text->image, "text_retrieval" image->text. */
export type RecallMetrics = Record<string, number>;

export interface RetrievalVectors {
  images: Float32Array[];
  texts: Float32Array[];
  /** The image (index into `images`) each text describes. */
  textImage: number[];
}

export class RetrievalInputError extends Error {}

/** Rows scaled to unit length (in double, then rounded once); a zero row stays zero, as F.normalize leaves it. */
export function unitRows32(rows: Float32Array[], dim: number): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((row, r) => {
    let sum = 0;
    for (let d = 0; d < dim; d++) sum += row[d] * row[d];
    const scale = 1 / Math.max(Math.sqrt(sum), 1e-12);
    for (let d = 0; d < dim; d++) out[r * dim + d] = row[d] * scale;
  });
  return out;
}

/** A score row's rank of `at`: how many entries come before it (higher, or equal and at a lower index). */
function rankOf(scores: Float32Array, offset: number, length: number, at: number): number {
  const own = scores[offset + at];
  let rank = 0;
  for (let j = 0; j < length; j++) {
    const s = scores[offset + j];
    if (s > own || (s === own && j < at)) rank++;
  }
  return rank;
}

/** The best-ranked of `positives` in a score row: the highest score, ties to the lower index. */
function bestOf(scores: Float32Array, offset: number, positives: number[]): number {
  let best = positives[0];
  for (const p of positives) {
    const s = scores[offset + p];
    const b = scores[offset + best];
    if (s > b || (s === b && p < best)) best = p;
  }
  return best;
}

/** Rows per product block: at most about 16M scores in memory at once. */
const blockRows = (columns: number) => Math.max(1, Math.floor((1 << 24) / Math.max(1, columns)));

/**
 * Each query's rank of its best positive: queries x candidates products, a block of query rows per
 * call. `positives[q]` lists query q's positive candidates (at least one).
 */
async function bestPositiveRanks(
  product: TransposedProduct,
  queries: Float32Array,
  candidates: Float32Array,
  dim: number,
  positives: number[][],
): Promise<Int32Array> {
  const n = candidates.length / dim;
  const ranks = new Int32Array(positives.length);
  const rows = blockRows(n);
  for (let q0 = 0; q0 < positives.length; q0 += rows) {
    const q1 = Math.min(positives.length, q0 + rows);
    const scores = await product.run(queries.subarray(q0 * dim, q1 * dim), candidates, dim);
    for (let q = q0; q < q1; q++) {
      const offset = (q - q0) * n;
      ranks[q] = rankOf(scores, offset, n, bestOf(scores, offset, positives[q]));
    }
  }
  return ranks;
}

/** Rank of every text's image (text->image) and of every image's best caption (image->text). */
export async function retrievalRanks(vectors: RetrievalVectors, threads?: number): Promise<{ textToImage: Int32Array; imageToText: Int32Array }> {
  const { images, texts, textImage } = vectors;
  if (images.length === 0 || texts.length === 0) throw new RetrievalInputError("nothing to evaluate: retrieval needs at least one image and one caption");
  const dim = images[0].length;
  const wrong = [...images, ...texts].findIndex((v) => v.length !== dim);
  if (wrong >= 0)
    throw new RetrievalInputError(
      `vectors of different lengths (${dim} and ${[...images, ...texts][wrong].length}): images and captions must come from one model`,
    );
  if (textImage.length !== texts.length) throw new RetrievalInputError(`${texts.length} captions but ${textImage.length} image links`);
  const captionsOf: number[][] = images.map(() => []);
  textImage.forEach((image, t) => {
    if (!Number.isInteger(image) || image < 0 || image >= images.length)
      throw new RetrievalInputError(`caption ${t} links to image ${image}, not one of the ${images.length}`);
    captionsOf[image].push(t);
  });
  const bare = captionsOf.findIndex((c) => c.length === 0);
  if (bare >= 0) throw new RetrievalInputError(`image ${bare} has no caption: every image query needs at least one`);
  const imageUnits = unitRows32(images, dim);
  const textUnits = unitRows32(texts, dim);
  const product = await TransposedProduct.open(threads);
  try {
    const textToImage = await bestPositiveRanks(
      product,
      textUnits,
      imageUnits,
      dim,
      textImage.map((i) => [i]),
    );
    const imageToText = await bestPositiveRanks(product, imageUnits, textUnits, dim, captionsOf);
    return { textToImage, imageToText };
  } finally {
    await product.release();
  }
}

/** Share of ranks below k. */
export function recallAt(ranks: Int32Array, k: number): number {
  let hits = 0;
  for (const r of ranks) if (r < k) hits++;
  return hits / ranks.length;
}

/** CLIP_benchmark's metrics dict: image_retrieval_recall@k (text->image) then text_retrieval_recall@k (image->text), per k. */
export async function retrievalRecall(vectors: RetrievalVectors, ks: readonly number[] = DEFAULT_RECALL_K, threads?: number): Promise<RecallMetrics> {
  const bad = ks.find((k) => !Number.isInteger(k) || k < 1);
  if (bad !== undefined) throw new RetrievalInputError(`recall@${bad}: k must be a whole number of at least 1`);
  const { textToImage, imageToText } = await retrievalRanks(vectors, threads);
  const metrics: RecallMetrics = {};
  for (const k of ks) {
    metrics[`image_retrieval_recall@${k}`] = recallAt(textToImage, k);
    metrics[`text_retrieval_recall@${k}`] = recallAt(imageToText, k);
  }
  return metrics;
}
