/**
 * One KNN evaluation: index the references, find each query's k nearest, classify with
 * sklearn's semantics and score top-1 / top-5, per class and overall, with the most confused
 * class pairs. With HNSW search, a sample of queries is also searched exactly to report how
 * often the two agree.
 */
import { KnnClassifier, type Weighting } from "./classifier.js";
import {
  BlockedExactIndex,
  DEFAULT_HNSW,
  HnswIndex,
  hnswUnavailableNotice,
  loadHnsw,
  type HnswOptions,
  type NeighbourIndex,
  type NeighbourList,
} from "./search.js";

export type SearchKind = "hnsw" | "exact";

export interface LabelledVectors {
  vectors: Float32Array[];
  labels: string[];
}

export interface Queries extends LabelledVectors {
  /** What identifies each query in the outputs (an image path). */
  ids: string[];
}

export interface EvaluateOptions {
  k: number;
  weighting: Weighting;
  search: SearchKind;
  hnsw?: HnswOptions;
  /** Queries also searched exactly to measure HNSW's agreement (0: none). */
  agreementSample: number;
  /** How many predictions count towards top-k accuracy (5 for top-5). */
  topK?: number;
  onQuery?: () => void;
  /** Called with one line when HNSW was asked for but hnswlib-node cannot be loaded, and exact search is used instead. */
  onFallback?: (notice: string) => void;
}

export interface ClassScore {
  label: string;
  queries: number;
  top1: number;
  top5: number;
}

export interface Confusion {
  label: string;
  predicted: string;
  count: number;
}

export interface Prediction {
  id: string;
  label: string;
  predicted: string;
  top5: string[];
}

export interface Agreement {
  /** Queries searched both ways. */
  queries: number;
  /** Of those, how many found exactly the same k neighbours. */
  sameNeighbours: number;
  /** Of those, how many got the same top-1 prediction. */
  samePrediction: number;
  /** Mean fraction of the exact k nearest that HNSW found (recall@k). */
  recall: number;
}

export interface Evaluation {
  k: number;
  weighting: Weighting;
  search: SearchKind;
  references: number;
  classes: number;
  queries: number;
  top1: number;
  top5: number;
  /** Query labels with no reference class: not scored, counted here. */
  excluded: { label: string; queries: number }[];
  perClass: ClassScore[];
  confusions: Confusion[];
  predictions: Prediction[];
  agreement?: Agreement;
}

export async function evaluateKnn(references: LabelledVectors, queries: Queries, options: EvaluateOptions): Promise<Evaluation> {
  if (references.vectors.length === 0) throw new Error("no reference embeddings to index");
  const dim = references.vectors[0].length;
  const topK = options.topK ?? 5;
  const classifier = new KnnClassifier(references.labels, options.weighting);
  const k = Math.min(options.k, references.vectors.length);
  let search = options.search;
  if (search === "hnsw") {
    const hnsw = loadHnsw();
    if ("error" in hnsw) {
      options.onFallback?.(hnswUnavailableNotice(hnsw.error));
      search = "exact";
    }
  }
  const index: NeighbourIndex =
    search === "exact" ? new BlockedExactIndex(references.vectors, dim) : new HnswIndex(references.vectors, dim, options.hnsw ?? DEFAULT_HNSW);

  const excluded = new Map<string, number>();
  const perClass = new Map<string, ClassScore>();
  const pairs = new Map<string, Confusion>();
  const predictions: Prediction[] = [];
  const scored: { query: number; neighbours: NeighbourList; predicted: number }[] = [];
  let hits1 = 0;
  let hits5 = 0;

  // Queries whose label has no reference class are counted, not searched.
  const searched: number[] = [];
  queries.labels.forEach((label, q) => {
    if (classifier.indexOf(label) !== undefined) {
      searched.push(q);
    } else {
      excluded.set(label, (excluded.get(label) ?? 0) + 1);
      options.onQuery?.();
    }
  });
  const found = await index.searchAll(
    searched.map((q) => queries.vectors[q]),
    k,
    options.onQuery,
  );

  searched.forEach((q, i) => {
    const label = queries.labels[q];
    const truth = classifier.indexOf(label)!;
    const neighbours = found[i];
    const proba = classifier.probabilities(neighbours);
    const predicted = KnnClassifier.predict(proba);
    const ranked = KnnClassifier.topK(proba, topK);
    const hit1 = predicted === truth ? 1 : 0;
    const hit5 = ranked.includes(truth) ? 1 : 0;
    hits1 += hit1;
    hits5 += hit5;
    const score = perClass.get(label) ?? { label, queries: 0, top1: 0, top5: 0 };
    score.queries++;
    score.top1 += hit1;
    score.top5 += hit5;
    perClass.set(label, score);
    const predictedLabel = classifier.classes[predicted];
    if (!hit1) {
      const key = `${label}\0${predictedLabel}`;
      const pair = pairs.get(key) ?? { label, predicted: predictedLabel, count: 0 };
      pair.count++;
      pairs.set(key, pair);
    }
    predictions.push({ id: queries.ids[q], label, predicted: predictedLabel, top5: ranked.map((c) => classifier.classes[c]) });
    scored.push({ query: q, neighbours, predicted });
  });

  const n = scored.length;
  const classScores = [...perClass.values()].map((s) => ({ ...s, top1: s.top1 / s.queries, top5: s.top5 / s.queries }));
  return {
    k,
    weighting: options.weighting,
    search,
    references: references.vectors.length,
    classes: classifier.classes.length,
    queries: n,
    top1: n > 0 ? hits1 / n : NaN,
    top5: n > 0 ? hits5 / n : NaN,
    excluded: [...excluded].map(([label, count]) => ({ label, queries: count })),
    perClass: classScores,
    confusions: [...pairs.values()].sort((a, b) => b.count - a.count || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0)),
    predictions,
    agreement:
      search === "hnsw" && options.agreementSample > 0
        ? await measureAgreement(references, queries, scored, classifier, k, options.agreementSample)
        : undefined,
  };
}

/** Searches an evenly spread sample of the scored queries exactly and compares. */
async function measureAgreement(
  references: LabelledVectors,
  queries: Queries,
  scored: { query: number; neighbours: NeighbourList; predicted: number }[],
  classifier: KnnClassifier,
  k: number,
  sample: number,
): Promise<Agreement> {
  const step = Math.max(1, scored.length / sample);
  const picked = new Set<number>();
  for (let j = 0; j < Math.min(sample, scored.length); j++) picked.add(Math.floor(j * step));
  const exact = new BlockedExactIndex(references.vectors, references.vectors[0].length);
  const truths = await exact.searchAll(
    [...picked].map((i) => queries.vectors[scored[i].query]),
    k,
  );
  let sameNeighbours = 0;
  let samePrediction = 0;
  let recall = 0;
  [...picked].forEach((i, j) => {
    const { neighbours, predicted } = scored[i];
    const truth = truths[j];
    const found = new Set(neighbours.indices);
    const common = Array.from(truth.indices).filter((r) => found.has(r)).length;
    recall += common / truth.indices.length;
    if (common === truth.indices.length) sameNeighbours++;
    if (KnnClassifier.predict(classifier.probabilities(truth)) === predicted) samePrediction++;
  });
  return { queries: picked.size, sameNeighbours, samePrediction, recall: picked.size > 0 ? recall / picked.size : NaN };
}
