/**
 * A k-nearest-neighbour classifier with scikit-learn's KNeighborsClassifier semantics, so the
 * accuracy `emb` reports is the number sklearn would give on the same embeddings:
 * - classes are the sorted distinct reference labels (sklearn's `classes_`);
 * - `uniform`: each neighbour votes 1; `distance`: it votes 1/d, except that when any neighbour
 *   is at distance 0 exactly those neighbours vote 1 and the rest 0;
 * - probabilities are the votes divided by their sum;
 * - the prediction is the most probable class, ties going to the first class in sorted order;
 * - top-k ranks classes as `top_k_accuracy_score` does (a stable ascending sort, reversed), so
 *   among equally probable classes the later one in sorted order ranks higher.
 */

export type Weighting = "distance" | "uniform";
export const WEIGHTINGS: Weighting[] = ["distance", "uniform"];

/** A query's neighbours: reference indices and their cosine distances. */
export interface Neighbours {
  indices: ArrayLike<number>;
  distances: ArrayLike<number>;
}

export class KnnClassifier {
  /** Sorted distinct labels: sklearn's `classes_`. */
  readonly classes: string[];
  /** Each reference's index into `classes`. */
  private readonly referenceClass: Int32Array;
  private readonly classIndex: Map<string, number>;

  constructor(
    referenceLabels: string[],
    readonly weighting: Weighting,
  ) {
    this.classes = [...new Set(referenceLabels)].sort(compareCodePoints);
    this.classIndex = new Map(this.classes.map((c, i) => [c, i]));
    this.referenceClass = Int32Array.from(referenceLabels, (l) => this.classIndex.get(l)!);
  }

  indexOf(label: string): number | undefined {
    return this.classIndex.get(label);
  }

  /** Class probabilities for one query, in `classes` order. */
  probabilities(neighbours: Neighbours): Float64Array {
    const proba = new Float64Array(this.classes.length);
    const { indices, distances } = neighbours;
    const anyZero = this.weighting === "distance" && Array.prototype.some.call(distances, (d: number) => d === 0);
    for (let i = 0; i < indices.length; i++) {
      let vote = 1;
      if (this.weighting === "distance") vote = anyZero ? (distances[i] === 0 ? 1 : 0) : 1 / distances[i];
      proba[this.referenceClass[indices[i]]] += vote;
    }
    let sum = 0;
    for (const p of proba) sum += p;
    for (let c = 0; c < proba.length; c++) proba[c] /= sum;
    return proba;
  }

  /** The predicted class index: the first most probable class. */
  static predict(proba: Float64Array): number {
    let best = 0;
    for (let c = 1; c < proba.length; c++) if (proba[c] > proba[best]) best = c;
    return best;
  }

  /** The k highest-ranked class indices, best first, ranked as top_k_accuracy_score ranks them. */
  static topK(proba: Float64Array, k: number): number[] {
    const order = Array.from(proba.keys());
    // Descending probability; equal probabilities: the higher class index first.
    order.sort((a, b) => proba[b] - proba[a] || b - a);
    return order.slice(0, k);
  }
}

/** Python's default string order (by code point), which np.unique and sorted() use. */
export function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}
