/**
 * Nearest-neighbour search by cosine distance (1 - cosine similarity, clipped to [0, 2], as
 * sklearn's metric "cosine" computes it), either exact or through an HNSW graph (hnswlib-node).
 *
 * Distances are always computed exactly in double precision from unit-normalised vectors, as
 * sklearn does: HNSW only chooses which references are the neighbours, so where it finds the
 * true k nearest its results equal exact search's.
 */
import hnswlib from "hnswlib-node";

/** One query's neighbours, nearest first. */
export interface NeighbourList {
  indices: Int32Array;
  distances: Float64Array;
}

export interface NeighbourIndex {
  readonly size: number;
  search(query: Float32Array, k: number): NeighbourList;
}

/** Rows scaled to unit length in double precision; a zero row stays zero, as sklearn's normalize leaves it. */
export function unitRows(vectors: Float32Array[], dim: number): Float64Array {
  const out = new Float64Array(vectors.length * dim);
  vectors.forEach((v, r) => {
    if (v.length !== dim) throw new Error(`vector ${r} has ${v.length} dimensions, not ${dim}`);
    let norm = 0;
    for (let i = 0; i < dim; i++) norm += v[i] * v[i];
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < dim; i++) out[r * dim + i] = v[i] / norm;
  });
  return out;
}

class CosineTable {
  readonly units: Float64Array;
  constructor(
    references: Float32Array[],
    readonly dim: number,
  ) {
    this.units = unitRows(references, dim);
  }

  get size(): number {
    return this.units.length / this.dim;
  }

  distance(unitQuery: Float64Array, row: number): number {
    const { units, dim } = this;
    let dot = 0;
    const base = row * dim;
    for (let i = 0; i < dim; i++) dot += unitQuery[i] * units[base + i];
    return Math.min(2, Math.max(0, 1 - dot));
  }
}

/** Sorts candidates by distance, then by reference index, and keeps k. */
function nearest(candidates: number[], distances: number[], k: number): NeighbourList {
  const order = candidates.map((_, i) => i);
  order.sort((a, b) => distances[a] - distances[b] || candidates[a] - candidates[b]);
  const kept = order.slice(0, k);
  return { indices: Int32Array.from(kept, (i) => candidates[i]), distances: Float64Array.from(kept, (i) => distances[i]) };
}

export class ExactIndex implements NeighbourIndex {
  private readonly table: CosineTable;
  constructor(references: Float32Array[], dim: number) {
    this.table = new CosineTable(references, dim);
  }

  get size(): number {
    return this.table.size;
  }

  search(query: Float32Array, k: number): NeighbourList {
    const unit = unitRows([query], this.table.dim);
    const n = this.table.size;
    const distances = new Array<number>(n);
    for (let r = 0; r < n; r++) distances[r] = this.table.distance(unit, r);
    // Equal distances at the k-th place: the lower reference index is kept (sklearn leaves this unspecified).
    return nearest(Array.from(distances.keys()), distances, k);
  }
}

export interface HnswOptions {
  /** Graph degree (hnswlib's M). */
  m: number;
  efConstruction: number;
  /** Candidate list size at query time; raised to k when smaller. */
  efSearch: number;
  seed: number;
}

export const DEFAULT_HNSW: HnswOptions = { m: 16, efConstruction: 200, efSearch: 128, seed: 100 };

export class HnswIndex implements NeighbourIndex {
  private readonly table: CosineTable;
  private readonly graph: hnswlib.HierarchicalNSW;

  constructor(
    references: Float32Array[],
    dim: number,
    private readonly options: HnswOptions = DEFAULT_HNSW,
  ) {
    this.table = new CosineTable(references, dim);
    this.graph = new hnswlib.HierarchicalNSW("cosine", dim);
    this.graph.initIndex(Math.max(1, references.length), options.m, options.efConstruction, options.seed);
    references.forEach((v, i) => this.graph.addPoint(Array.from(v), i));
  }

  get size(): number {
    return this.table.size;
  }

  search(query: Float32Array, k: number): NeighbourList {
    const wanted = Math.min(k, this.size);
    this.graph.setEf(Math.max(this.options.efSearch, wanted));
    const found = this.graph.searchKnn(Array.from(query), wanted).neighbors;
    const unit = unitRows([query], this.table.dim);
    return nearest(found, found.map((r) => this.table.distance(unit, r)), wanted);
  }
}
