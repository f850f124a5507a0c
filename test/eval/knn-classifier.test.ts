import { describe, expect, it } from "vitest";
import { KnnClassifier, WEIGHTINGS, compareCodePoints, type Weighting } from "../../src/eval/knn/classifier.js";
import { evaluateKnn, type SearchKind } from "../../src/eval/knn/evaluate.js";
import { ExactIndex, loadHnsw } from "../../src/eval/knn/search.js";
import { readJson } from "../helpers/fixtures.js";

interface Expected {
  k: number;
  weights: Weighting;
  classes: string[];
  predict: string[];
  proba: number[][];
  top1: number;
  top5: number;
}
interface GoldenCase {
  name: string;
  train: { vectors: number[][]; labels: string[] };
  valid: { vectors: number[][]; labels: string[] };
  expected: Expected;
}

const cases = readJson<{ cases: GoldenCase[] }>("goldens", "knn", "synthetic.json").cases;
const f32 = (rows: number[][]) => rows.map((r) => Float32Array.from(r));

describe("KNN classification equals scikit-learn's KNeighborsClassifier (metric cosine)", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s: classes, probabilities, predictions", (_, c) => {
    const classifier = new KnnClassifier(c.train.labels, c.expected.weights);
    expect(classifier.classes).toEqual(c.expected.classes);
    const index = new ExactIndex(f32(c.train.vectors), c.train.vectors[0].length);
    f32(c.valid.vectors).forEach((query, q) => {
      const proba = classifier.probabilities(index.search(query, c.expected.k));
      for (let j = 0; j < proba.length; j++) expect(proba[j]).toBeCloseTo(c.expected.proba[q][j], 12);
      expect(classifier.classes[KnnClassifier.predict(proba)]).toBe(c.expected.predict[q]);
    });
  });

  for (const search of ["exact", "hnsw"] as SearchKind[]) {
    it.each(cases.map((c) => [c.name, c] as const))(`%s: top-1 and top-5 accuracy with ${search} search`, async (_, c) => {
      const result = await evaluateKnn(
        { vectors: f32(c.train.vectors), labels: c.train.labels },
        { vectors: f32(c.valid.vectors), labels: c.valid.labels, ids: c.valid.labels.map((_, i) => `q${i}`) },
        { k: c.expected.k, weighting: c.expected.weights, search, agreementSample: 1000 },
      );
      expect(result.top1).toBeCloseTo(c.expected.top1, 12);
      expect(result.top5).toBeCloseTo(c.expected.top5, 12);
      expect(result.predictions.map((p) => p.predicted)).toEqual(c.expected.predict);
      // hnswlib-node is optional: without it, HNSW falls back to exact search and measures no agreement.
      if (search === "hnsw" && "module" in loadHnsw())
        expect(result.agreement).toMatchObject({ queries: c.valid.labels.length, samePrediction: c.valid.labels.length });
    });
  }

  it("covers both weightings and sklearn's tie rules", () => {
    expect(new Set(cases.map((c) => c.expected.weights))).toEqual(new Set(WEIGHTINGS));
    // The tie case: a uniform vote over all ten references gives h and g 0.2 and the rest 0.1.
    const ties = cases.find((c) => c.name === "ties uniform")!;
    expect(ties.expected.predict.every((p) => p === "g")).toBe(true);
  });
});

describe("hand-worked tie-breaking", () => {
  const classifier = new KnnClassifier(["b", "a", "c", "b", "a"], "uniform");
  const all = { indices: [0, 1, 2, 3, 4], distances: [0.5, 0.5, 0.5, 0.5, 0.5] };

  it("predicts the first of equally voted classes, as sklearn's mode does", () => {
    // a and b have two votes each: a comes first in sorted order.
    expect(classifier.classes[KnnClassifier.predict(classifier.probabilities(all))]).toBe("a");
  });

  it("ranks equally probable classes later-first for top-k, as top_k_accuracy_score's reversed stable sort does", () => {
    const proba = classifier.probabilities(all);
    expect(KnnClassifier.topK(proba, 3).map((c) => classifier.classes[c])).toEqual(["b", "a", "c"]);
  });

  it("gives all the weight to references at distance zero", () => {
    const weighted = new KnnClassifier(["b", "a", "c"], "distance");
    const proba = weighted.probabilities({ indices: [2, 0, 1], distances: [0, 0.1, 0.2] });
    expect(Array.from(proba)).toEqual([0, 0, 1]);
  });

  it("sorts labels by code point, as Python does", () => {
    expect(["b", "B", "a", "é", "Z"].sort(compareCodePoints)).toEqual(["B", "Z", "a", "b", "é"]);
  });
});
