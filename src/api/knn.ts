/**
 * KNN evaluation of embeddings for Node programs: label queries by their k nearest references
 * (cosine distance) with scikit-learn's KNeighborsClassifier semantics, and score top-1/top-5,
 * as `emb knn eval` does once the images are embedded.
 */
import type { Weighting } from "../eval/knn/classifier.js";
import { evaluateKnn, type Evaluation, type SearchKind } from "../eval/knn/evaluate.js";

export interface LabelledEmbeddings {
  vectors: Float32Array[];
  /** One label per vector. */
  labels: string[];
  /** What names each vector in the predictions (default its index). */
  ids?: string[];
}

export interface KnnOptions {
  /** Neighbours per query (default 10). */
  k?: number;
  /** Neighbour votes: "distance" (1/d, the default) or "uniform". */
  weighting?: Weighting;
  /** "exact" (default) or "hnsw" (approximate; needs the optional hnswlib-node, else exact is used and onFallback told). */
  search?: SearchKind;
  /** How many ranked classes count for top-k accuracy (default 5). */
  topK?: number;
  onFallback?: (notice: string) => void;
}

export type KnnEvaluation = Evaluation;

function checkLabelled(what: string, set: LabelledEmbeddings): void {
  if (set.vectors.length !== set.labels.length) {
    throw new RangeError(`${what}: ${set.vectors.length} vectors but ${set.labels.length} labels; give one label per vector`);
  }
  if (set.ids && set.ids.length !== set.vectors.length) throw new RangeError(`${what}: ${set.vectors.length} vectors but ${set.ids.length} ids`);
  const dim = set.vectors[0]?.length;
  const bad = set.vectors.findIndex((v) => v.length !== dim);
  if (bad >= 0) throw new RangeError(`${what}: vector ${bad} has ${set.vectors[bad].length} values, vector 0 has ${dim}; all must have the same length`);
}

/** Classifies every query from its k nearest references and scores the predictions against the queries' labels. */
export async function knnEvaluate(references: LabelledEmbeddings, queries: LabelledEmbeddings, options: KnnOptions = {}): Promise<KnnEvaluation> {
  checkLabelled("references", references);
  checkLabelled("queries", queries);
  if (references.vectors.length === 0) throw new RangeError("references: no vectors to search");
  if (queries.vectors.length > 0 && queries.vectors[0].length !== references.vectors[0].length) {
    throw new RangeError(`queries have ${queries.vectors[0].length} values per vector, references ${references.vectors[0].length}`);
  }
  const k = options.k ?? 10;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a whole number >= 1, not ${k}`);
  return evaluateKnn(
    { vectors: references.vectors, labels: references.labels },
    { vectors: queries.vectors, labels: queries.labels, ids: queries.ids ?? queries.vectors.map((_, i) => String(i)) },
    {
      k,
      weighting: options.weighting ?? "distance",
      search: options.search ?? "exact",
      agreementSample: 0,
      topK: options.topK,
      onFallback: options.onFallback,
    },
  );
}
