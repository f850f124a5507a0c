/**
 * CIDEr-D as pycocoevalcap's `Cider` (its CiderScorer, n = 4, sigma = 6) reports it:
 * - each 1..4-gram is weighted tf * (log N - log max(1, df)), where N is the number of images
 *   scored and df the number of images whose references contain the n-gram, so the idf comes
 *   from the evaluated set itself (a single image makes every weight 0, and so every score);
 * - per order, the candidate's weights are clipped by the reference's before the dot product,
 *   which is divided by both norms only when both are non-zero;
 * - each order's similarity is multiplied by exp(-delta^2 / (2 sigma^2)), where delta is the
 *   length difference of candidate and reference, summed over references, averaged over the four
 *   orders, divided by the number of references and multiplied by 10;
 * - the corpus score is the mean over images.
 * Sums run in pycocoevalcap's order (n-grams by first position), so results agree to ~1e-16.
 */
import { NgramIds, pairCaptions, splitWords, type NgramCounts } from "./bleu.js";
import type { MetricResult, TokenizedCaptions } from "./types.js";

const N = 4;
const SIGMA = 6;

/** One order of a tf-idf vector: parallel n-gram ids and weights, and the Euclidean norm. */
interface SparseOrder {
  ids: number[];
  weights: number[];
  norm: number;
}

/** Corpus (mean) and per-image CIDEr-D of one candidate per image against its references. */
export function ciderD(gts: TokenizedCaptions, res: TokenizedCaptions): MetricResult {
  const pairs = pairCaptions(gts, res);
  const ngrams = new NgramIds();
  const count = (caption: string): NgramCounts => ngrams.count(splitWords(caption), N);
  const images = pairs.map(({ candidate, refs }) => ({ candidate: count(candidate), refs: refs.map(count) }));

  // Document frequency: in how many images' reference sets each n-gram occurs (counted once per
  // image: `lastImage` marks the image that counted it last).
  const df = new Int32Array(ngrams.size);
  const lastImage = new Int32Array(ngrams.size).fill(-1);
  images.forEach(({ refs }, image) => {
    for (const ref of refs) {
      for (const id of ref.ids) {
        if (lastImage[id] !== image) {
          lastImage[id] = image;
          df[id]++;
        }
      }
    }
  });
  // idf, as log N - log max(1, df): an n-gram in no reference counts as occurring once.
  const logImages = Math.log(pairs.length);
  const idf = Float64Array.from(df, (d) => logImages - Math.log(Math.max(1, d)));

  const vectorOf = ({ ids, counts, start }: NgramCounts): SparseOrder[] => {
    const orders: SparseOrder[] = [];
    for (let k = 0; k < N; k++) {
      const v: SparseOrder = { ids: ids.slice(start[k], start[k + 1]), weights: [], norm: 0 };
      let squares = 0;
      for (let i = start[k]; i < start[k + 1]; i++) {
        const weight = counts[i] * idf[ids[i]];
        v.weights.push(weight);
        squares += weight ** 2;
      }
      v.norm = Math.sqrt(squares);
      orders.push(v);
    }
    return orders;
  };

  // A reference's weights scattered by n-gram id while a candidate is compared with it, so each
  // lookup is an array read; reset to 0 afterwards.
  const refWeight = new Float64Array(ngrams.size);

  const scores = images.map(({ candidate, refs }) => {
    const hyp = vectorOf(candidate);
    const perOrder = new Array<number>(N).fill(0);
    for (const ref of refs) {
      const r = vectorOf(ref);
      // pycocoevalcap measures length in bigrams (words - 1, or 0): the difference of two lengths
      // is the one in words except when a caption is empty, and then every similarity is 0 anyway.
      const delta = bigrams(candidate) - bigrams(ref);
      const penalty = Math.E ** (-(delta ** 2) / (2 * SIGMA ** 2));
      for (let n = 0; n < N; n++) {
        const { ids: refIds, weights } = r[n];
        for (let i = 0; i < refIds.length; i++) refWeight[refIds[i]] = weights[i];
        let val = 0;
        const h = hyp[n];
        for (let i = 0; i < h.ids.length; i++) {
          const w = refWeight[h.ids[i]];
          // Clipping: repeating an n-gram beyond the reference's weight for it earns nothing.
          val += Math.min(h.weights[i], w) * w;
        }
        for (const id of refIds) refWeight[id] = 0;
        if (h.norm !== 0 && r[n].norm !== 0) val /= h.norm * r[n].norm;
        perOrder[n] += val * penalty;
      }
    }
    let sum = 0;
    for (const v of perOrder) sum += v;
    return (sum / N / refs.length) * 10;
  });

  let total = 0;
  for (const s of scores) total += s;
  return { score: total / scores.length, scores };
}

/** pycocoevalcap's caption length: its number of bigrams. */
function bigrams(c: NgramCounts): number {
  return Math.max(0, c.words - 1);
}
