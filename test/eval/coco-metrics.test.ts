import { describe, expect, it } from "vitest";
import { bleu } from "../../src/eval/coco/bleu.js";
import { ciderD } from "../../src/eval/coco/cider.js";
import { rougeL } from "../../src/eval/coco/rouge.js";
import type { ImageId, TokenizedCaptions } from "../../src/eval/coco/types.js";
import { readJson } from "../helpers/fixtures.js";

interface Golden {
  image_ids: number[];
  gts: string[][];
  res: string[][];
  corpus: Record<"Bleu_1" | "Bleu_2" | "Bleu_3" | "Bleu_4" | "METEOR" | "ROUGE_L" | "CIDEr", number>;
  per_image: { Bleu: number[][]; METEOR: number[]; ROUGE_L: number[]; CIDEr: number[] };
}

const golden = readJson<Golden>("goldens", "coco", "metrics.json");
const gts: TokenizedCaptions = new Map(golden.image_ids.map((id, i) => [id, golden.gts[i]]));
// Candidates in another order than the references: scores must follow the references' order.
const res: TokenizedCaptions = new Map(golden.image_ids.map((id, i) => [id, golden.res[i]] as const).reverse());

const TOL = 1e-6;

function expectAll(actual: number[], expected: number[], tol = TOL): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => expect(Math.abs(a - expected[i]), `index ${i}: ${a} vs ${expected[i]}`).toBeLessThanOrEqual(tol));
}

/** |actual / expected - 1| <= rel: for values far from 1 (smoothed BLEU). */
function expectRel(actual: number, expected: number, rel = 1e-8): void {
  expect(Math.abs(actual / expected - 1), `${actual} vs ${expected}`).toBeLessThanOrEqual(rel);
}

/** One image per entry: [references, candidate], ids 1, 2, ... */
function captions(...images: [string[], string][]): [TokenizedCaptions, TokenizedCaptions] {
  return [new Map<ImageId, string[]>(images.map(([refs], i) => [i + 1, refs])), new Map<ImageId, string[]>(images.map(([, cand], i) => [i + 1, [cand]]))];
}

describe("COCO caption metrics equal pycocoevalcap's on the golden test set", () => {
  it("BLEU-1..4: corpus and per image", () => {
    const { score, scores } = bleu(gts, res);
    expectAll(
      score,
      [1, 2, 3, 4].map((k) => golden.corpus[`Bleu_${k}` as "Bleu_1"]),
    );
    expect(scores).toHaveLength(golden.image_ids.length);
    for (let k = 0; k < 4; k++)
      expectAll(
        scores.map((s) => s[k]),
        golden.per_image.Bleu[k],
      );
  });

  it("ROUGE-L: corpus and per image", () => {
    const { score, scores } = rougeL(gts, res);
    expectAll([score], [golden.corpus.ROUGE_L]);
    expectAll(scores, golden.per_image.ROUGE_L);
  });

  it("CIDEr-D: corpus and per image", () => {
    const { score, scores } = ciderD(gts, res);
    expectAll([score], [golden.corpus.CIDEr]);
    expectAll(scores, golden.per_image.CIDEr);
  });
});

describe("BLEU by hand", () => {
  it("a candidate equal to its only reference scores 1 less the smoothing (c == r still gets a brevity factor)", () => {
    // Every precision is (m + 1e-15) / (m + 1e-9) ~ 1 - 1e-9/m, and (6 + 1e-15) / (6 + 1e-9) < 1
    // makes BleuScorer apply exp(1 - 1/ratio) ~ 1 - 1.7e-10 even though the lengths are equal.
    const { score, scores } = bleu(...captions([["a dog runs on the grass"], "a dog runs on the grass"]));
    for (const s of [...score, ...scores[0]]) {
      expect(s).toBeLessThan(1);
      expect(1 - s).toBeLessThan(1e-9);
    }
  });

  it("an empty candidate scores 0: the brevity penalty exp(1 - (2 + 1e-9) / 1e-15) underflows", () => {
    const { score, scores } = bleu(...captions([["a dog"], ""]));
    expect(score).toEqual([0, 0, 0, 0]);
    expect(scores).toEqual([[0, 0, 0, 0]]);
  });

  it("a one-word candidate: higher orders are smoothed to 1e-6 each, brevity exp(1 - 2/1)", () => {
    // guess = [1, 0, 0, 0], correct = [1, 0, 0, 0]: p1 ~ 1, p2 = p3 = p4 = 1e-15 / 1e-9 = 1e-6;
    // BLEU-k = (p1 ... pk)^(1/k) * e^-1 = e^-1 * [1, 1e-3, 1e-4, 10^-4.5].
    const { score, scores } = bleu(...captions([["a dog"], "dog"]));
    const expected = [1, 1e-3, 1e-4, 10 ** -4.5].map((v) => v * Math.exp(-1));
    for (let k = 0; k < 4; k++) {
      expectRel(scores[0][k], expected[k]);
      expectRel(score[k], expected[k]);
    }
  });

  it("'closest' reference length takes the shorter reference on a tie", () => {
    // Candidate of 3 words, references of 2 and 4: both 1 away, 2 wins, so no brevity penalty
    // (with 4 it would be exp(1 - 4/3) = 0.717). Precisions 3/3, 2/2, 1/1, smoothed 1e-6.
    const { scores } = bleu(...captions([["a b", "a b c d"], "a b c"]));
    const expected = [1, 1, 1, 10 ** -1.5];
    for (let k = 0; k < 4; k++) expectRel(scores[0][k], expected[k]);
  });

  it("counts are clipped by the largest count in any one reference", () => {
    // "the" occurs at most twice in one reference, so 2 of the candidate's 3 match: p1 = 2/3.
    // "the the" occurs at most once, so 1 of the candidate's 2 matches: p2 = 1/2. Lengths 3 and 3:
    // only the c == r factor. BLEU-1 = 2/3, BLEU-2 = (2/3 * 1/2)^(1/2).
    const { scores } = bleu(...captions([["the the cat", "the cat sat"], "the the the"]));
    expectRel(scores[0][0], 2 / 3);
    expectRel(scores[0][1], Math.sqrt((2 / 3) * (1 / 2)));
  });

  it("the corpus score pools counts and lengths before the geometric mean", () => {
    // Image 1: "a b c" vs "a b c": correct = guess = [3, 2, 1, 0]. Image 2: "x" vs "y z":
    // correct [0, 0, 0, 0], guess [1, 0, 0, 0]. Pooled: correct [3, 2, 1, 0], guess [4, 2, 1, 0],
    // c = 4, r = 3 + 2 = 5, penalty exp(1 - 5/4) = e^-0.25.
    // BLEU-k = e^-0.25 * [3/4, (3/4)^(1/2), (3/4)^(1/3), (3/4 * 1e-6)^(1/4)].
    const { score } = bleu(...captions([["a b c"], "a b c"], [["y z"], "x"]));
    const p = 0.75;
    const expected = [p, p ** 0.5, p ** (1 / 3), (p * 1e-6) ** 0.25].map((v) => v * Math.exp(-0.25));
    for (let k = 0; k < 4; k++) expectRel(score[k], expected[k]);
  });
});

describe("ROUGE-L by hand", () => {
  it("a candidate equal to a reference scores 1", () => {
    const { score, scores } = rougeL(...captions([["a dog on the grass", "a cat"], "a dog on the grass"]));
    expect(scores).toEqual([1]);
    expect(score).toBe(1);
  });

  it("takes the best precision and the best recall separately, from different references", () => {
    // "a b c d" vs "a c": LCS 2, P = 2/4, R = 2/2. vs "a b c d e f g h": LCS 4, P = 4/4, R = 4/8.
    // max P = 1 and max R = 1, so F = 1 although no reference equals the candidate.
    expect(rougeL(...captions([["a c", "a b c d e f g h"], "a b c d"])).scores).toEqual([1]);
    // Only the short reference: P = 1/2, R = 1, F = (1 + 1.44) * 0.5 / (1 + 1.44 * 0.5) = 1.22 / 1.72.
    expect(rougeL(...captions([["a c"], "a b c d"])).scores[0]).toBeCloseTo(1.22 / 1.72, 12);
  });

  it("an empty candidate is one empty token: 0 against words, 1 against an empty reference", () => {
    expect(rougeL(...captions([["a dog"], ""])).scores).toEqual([0]);
    expect(rougeL(...captions([[""], ""])).scores).toEqual([1]);
  });

  it("the corpus score is the mean over images", () => {
    const { score, scores } = rougeL(...captions([["a b"], "a b"], [["a b"], "c"]));
    expect(scores).toEqual([1, 0]);
    expect(score).toBe(0.5);
  });
});

describe("CIDEr-D by hand", () => {
  it("a single image scores 0 whatever the candidate: idf = log 1 - log df = 0", () => {
    expect(ciderD(...captions([["a dog on the grass"], "a dog on the grass"]))).toEqual({ score: 0, scores: [0] });
  });

  it("two images with exact candidates: 1-grams and 2-grams match fully, 3- and 4-grams are empty", () => {
    // N = 2, every n-gram is in one image: weight log 2 each. Orders 1 and 2 have cosine 1, orders
    // 3 and 4 have no n-grams (0, norms 0 so no division); delta = 0. (1 + 1 + 0 + 0) / 4 * 10 = 5.
    const { score, scores } = ciderD(...captions([["a b"], "a b"], [["c d"], "c d"]));
    expectAll(scores, [5, 5], 1e-12);
    expect(score).toBeCloseTo(5, 12);
  });

  it("clips the candidate's weights by the reference's", () => {
    // Image 1: "a a" vs "a b". Order 1: candidate {a: 2L}, reference {a: L, b: L}, L = log 2;
    // dot = min(2L, L) * L = L^2, norms 2L and sqrt(2) L: 1 / (2 sqrt 2) (2 / (2 sqrt 2) unclipped).
    // Order 2: "a a" is in no reference (weight L) and "a b" not in the candidate: 0.
    // Score = 1 / (2 sqrt 2) / 4 * 10 = 1.25 / sqrt 2. Image 2 is the exact match above: 5.
    const { score, scores } = ciderD(...captions([["a b"], "a a"], [["c d"], "c d"]));
    expectAll(scores, [1.25 / Math.SQRT2, 5], 1e-12);
    expect(score).toBeCloseTo((1.25 / Math.SQRT2 + 5) / 2, 12);
  });

  it("applies the Gaussian length penalty exp(-delta^2 / 72)", () => {
    // "a b" vs "a b c d e f g h": order 1: 2L^2 / (sqrt 2 L * sqrt 8 L) = 1/2; order 2:
    // L^2 / (L * sqrt 7 L) = 1/sqrt 7; orders 3, 4: 0. delta = 6: exp(-36/72) = exp(-1/2).
    const { scores } = ciderD(...captions([["a b c d e f g h"], "a b"], [["x y"], "x y"]));
    expect(scores[0]).toBeCloseTo((((0.5 + 1 / Math.sqrt(7)) * Math.exp(-0.5)) / 4) * 10, 12);
  });

  it("averages over the references", () => {
    // Image 1 against "a b" alone scores 5 (above); adding a reference with no common n-gram
    // adds 0 but doubles the divisor. "a b" is still in only image 1's references: weights unchanged.
    const { scores } = ciderD(...captions([["a b", "e f"], "a b"], [["c d"], "c d"]));
    expect(scores[0]).toBeCloseTo(2.5, 12);
  });
});

describe("COCO metric input checks name the image", () => {
  const metrics = [
    ["bleu", bleu],
    ["rougeL", rougeL],
    ["ciderD", ciderD],
  ] as const;

  it.each(metrics)("%s", (_, metric) => {
    const refs = new Map<ImageId, string[]>([
      [1, ["a dog"]],
      ["x", ["a cat"]],
    ]);
    expect(() => metric(refs, new Map<ImageId, string[]>([[1, ["a dog"]]]))).toThrow(/image id x has references but no candidate/);
    expect(() =>
      metric(
        refs,
        new Map<ImageId, string[]>([
          [1, ["a"]],
          ["x", ["b"]],
          [7, ["c"]],
        ]),
      ),
    ).toThrow(/image id 7 has a candidate but no references/);
    expect(() =>
      metric(
        refs,
        new Map<ImageId, string[]>([
          [1, ["a", "b"]],
          ["x", ["c"]],
        ]),
      ),
    ).toThrow(/image id 1 has 2 candidates; exactly one is expected/);
    expect(() =>
      metric(
        refs,
        new Map<ImageId, string[]>([
          [1, []],
          ["x", ["c"]],
        ]),
      ),
    ).toThrow(/image id 1 has 0 candidates/);
    expect(() => metric(new Map<ImageId, string[]>([[1, []]]), new Map<ImageId, string[]>([[1, ["a"]]]))).toThrow(/image id 1 has no references/);
    expect(() => metric(new Map(), new Map())).toThrow(/no images to score/);
  });
});
