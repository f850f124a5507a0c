/**
 * Nearest-neighbour search by cosine distance (1 - cosine similarity, clipped to [0, 2], as
 * sklearn's metric "cosine" computes it), exact (blocked matrix products, or the scalar scan that
 * defines it) or through an HNSW graph (hnswlib-node).
 *
 * Distances are always computed exactly in double precision from unit-normalised vectors, as
 * sklearn does: the matrix products and HNSW only choose which references are the neighbours, so
 * blocked search equals the scalar scan, and where HNSW finds the true k nearest its results
 * equal exact search's.
 */
import { createRequire } from "node:module";
import { TransposedProduct } from "../../runtime/matmul.js";

/**
 * The part of hnswlib-node used here, declared locally: hnswlib-node is an optional dependency
 * (it compiles with node-gyp at install time), so neither the build nor a run may need it.
 */
interface HnswGraph {
  initIndex(maxElements: number, m: number, efConstruction: number, randomSeed: number): void;
  addPoint(point: number[], label: number): void;
  setEf(ef: number): void;
  searchKnn(query: number[], k: number): { neighbors: number[]; distances: number[] };
  /** Replaces the graph by one writeIndexSync wrote (no initIndex needed first). */
  readIndexSync(filename: string): void;
  writeIndexSync(filename: string): void;
  getCurrentCount(): number;
}
export interface HnswModule {
  HierarchicalNSW: new (space: "cosine", dim: number) => HnswGraph;
}

const requireHere = createRequire(import.meta.url);
let hnswLoader: () => HnswModule = () => requireHere("hnswlib-node") as HnswModule;
let loaded: { module: HnswModule } | { error: string } | undefined;

/**
 * hnswlib-node, loaded on first use; an error message in words where it is not installed or its
 * native build is missing (no C++ toolchain at install time).
 */
export function loadHnsw(): { module: HnswModule } | { error: string } {
  if (loaded) return loaded;
  try {
    loaded = { module: hnswLoader() };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    loaded = { error: message.split("\n")[0] };
  }
  return loaded;
}

/** Replaces how hnswlib-node is loaded (tests); undefined restores the default. */
export function setHnswLoader(loader?: () => HnswModule): void {
  hnswLoader = loader ?? (() => requireHere("hnswlib-node") as HnswModule);
  loaded = undefined;
}

/**
 * The one line printed when HNSW was asked for but cannot be loaded. Where its build failed at
 * install, npm removed the package (an optional dependency), and `npm rebuild` finds nothing to
 * build: installing again brings it back; where it is there unbuilt, rebuilding builds it.
 */
export function hnswUnavailableNotice(error: string): string {
  const fix = /Cannot find (module|package) 'hnswlib-node'/.test(error) ? "npm ci" : "npm rebuild hnswlib-node";
  return `HNSW search unavailable (hnswlib-node could not be loaded: ${error}); using exact search (exact neighbours, slower on large indexes). For HNSW, install a C++ toolchain and Python, then run \`${fix}\``;
}

/** One query's neighbours, nearest first. */
export interface NeighbourList {
  indices: Int32Array;
  distances: Float64Array;
}

export interface NeighbourIndex {
  readonly size: number;
  /** Each query's k nearest (fewer where there are fewer references), in query order; `onQuery` after each. */
  searchAll(queries: Float32Array[], k: number, onQuery?: () => void): Promise<NeighbourList[]>;
}

/** Searches one query at a time. */
async function eachQuery(
  search: (query: Float32Array, k: number) => NeighbourList,
  queries: Float32Array[],
  k: number,
  onQuery?: () => void,
): Promise<NeighbourList[]> {
  return queries.map((query) => {
    const found = search(query, k);
    onQuery?.();
    return found;
  });
}

/**
 * Reference vectors, in reference order: one array per row, one row-major buffer of n x dim
 * (each row a view of it, never a copy), or rows read on demand (a folder too large to hold twice).
 */
export type References = Float32Array[] | Float32Array | RowSource;

/** Rows given one at a time; a row returned is read, never modified. */
export interface RowSource {
  readonly count: number;
  row(index: number): Float32Array;
}

/** Any References as a RowSource. */
export function rowSource(references: References, dim: number): RowSource {
  if (Array.isArray(references)) return { count: references.length, row: (i) => references[i] };
  if (!(references instanceof Float32Array)) return references;
  if (references.length % dim !== 0) throw new Error(`a buffer of ${references.length} values is not rows of ${dim} dimensions`);
  return { count: references.length / dim, row: (i) => references.subarray(i * dim, (i + 1) * dim) };
}

/** The length unitRows divides a row by: computed the same way wherever a row is normalised, so distances agree to the bit. */
function rowNorm(v: Float32Array, dim: number): number {
  let norm = 0;
  for (let i = 0; i < dim; i++) norm += v[i] * v[i];
  return Math.sqrt(norm) || 1;
}

/** Rows scaled to unit length in double precision; a zero row stays zero, as sklearn's normalize leaves it. */
export function unitRows(vectors: Float32Array[], dim: number): Float64Array {
  const out = new Float64Array(vectors.length * dim);
  vectors.forEach((v, r) => {
    if (v.length !== dim) throw new Error(`vector ${r} has ${v.length} dimensions, not ${dim}`);
    const norm = rowNorm(v, dim);
    for (let i = 0; i < dim; i++) out[r * dim + i] = v[i] / norm;
  });
  return out;
}

/** The rows scaled to unit length as unitRows scales them, rounded to float32, in one row-major buffer. */
export function unitRows32(rows: RowSource, dim: number): Float32Array {
  const units = new Float32Array(rows.count * dim);
  for (let r = 0; r < rows.count; r++) {
    const v = rows.row(r);
    if (v.length !== dim) throw new Error(`vector ${r} has ${v.length} dimensions, not ${dim}`);
    const norm = rowNorm(v, dim);
    const base = r * dim;
    for (let i = 0; i < dim; i++) units[base + i] = v[i] / norm;
  }
  return units;
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
    return clipDistance(dot);
  }

  /** Distances to every row; four rows per pass share each query load (about twice as fast). */
  allDistances(unitQuery: Float64Array, out: Float64Array): void {
    const { units, dim } = this;
    const n = this.size;
    let r = 0;
    for (; r + 4 <= n; r += 4) {
      const b0 = r * dim;
      const b1 = b0 + dim;
      const b2 = b1 + dim;
      const b3 = b2 + dim;
      let d0 = 0;
      let d1 = 0;
      let d2 = 0;
      let d3 = 0;
      for (let i = 0; i < dim; i++) {
        const q = unitQuery[i];
        d0 += q * units[b0 + i];
        d1 += q * units[b1 + i];
        d2 += q * units[b2 + i];
        d3 += q * units[b3 + i];
      }
      out[r] = clipDistance(d0);
      out[r + 1] = clipDistance(d1);
      out[r + 2] = clipDistance(d2);
      out[r + 3] = clipDistance(d3);
    }
    for (; r < n; r++) out[r] = this.distance(unitQuery, r);
  }
}

const clipDistance = (dot: number) => Math.min(2, Math.max(0, 1 - dot));

/**
 * The scan's double-precision distance to references kept as they were given (float32, a quarter
 * of CosineTable's memory): a row is normalised in double when it is scored, dividing as
 * unitRows does, so each distance equals CosineTable's to the bit. Only shortlisted rows are
 * scored, so normalising each again costs little.
 */
export class RowScorer {
  constructor(
    readonly rows: RowSource,
    readonly dim: number,
  ) {}

  get size(): number {
    return this.rows.count;
  }

  distance(unitQuery: Float64Array, index: number): number {
    const { dim } = this;
    const v = this.rows.row(index);
    if (v.length !== dim) throw new Error(`vector ${index} has ${v.length} dimensions, not ${dim}`);
    const norm = rowNorm(v, dim);
    let dot = 0;
    for (let i = 0; i < dim; i++) dot += unitQuery[i] * (v[i] / norm);
    return clipDistance(dot);
  }

  /** Each candidate's distance, nearest k kept (ties to the lower index). */
  nearest(unitQuery: Float64Array, candidates: number[], k: number): NeighbourList {
    return nearest(
      candidates,
      candidates.map((r) => this.distance(unitQuery, r)),
      k,
    );
  }
}

/** Sorts candidates by distance, then by reference index, and keeps k. */
function nearest(candidates: number[], distances: number[], k: number): NeighbourList {
  const order = candidates.map((_, i) => i);
  order.sort((a, b) => distances[a] - distances[b] || candidates[a] - candidates[b]);
  const kept = order.slice(0, k);
  return { indices: Int32Array.from(kept, (i) => candidates[i]), distances: Float64Array.from(kept, (i) => distances[i]) };
}

/**
 * Exact search by scanning every reference for each query: the definition of exact neighbours
 * (the k smallest distances, the lower reference index first on equal distances), kept as the
 * oracle that BlockedExactIndex is tested and benchmarked against.
 */
export class ExactIndex implements NeighbourIndex {
  private readonly table: CosineTable;
  private scratch?: Float64Array;
  constructor(references: Float32Array[], dim: number) {
    this.table = new CosineTable(references, dim);
  }

  get size(): number {
    return this.table.size;
  }

  search(query: Float32Array, k: number): NeighbourList {
    const unit = unitRows([query], this.table.dim);
    const n = this.table.size;
    const keep = Math.min(k, n);
    const all = (this.scratch ??= new Float64Array(n));
    this.table.allDistances(unit, all);
    // The k smallest so far, sorted; scanning in index order keeps the lower index on equal
    // distances at the k-th place (sklearn leaves that choice unspecified).
    const indices = new Int32Array(keep);
    const distances = new Float64Array(keep).fill(Infinity);
    for (let r = 0; r < n; r++) {
      const d = all[r];
      if (d >= distances[keep - 1] && r >= keep) continue;
      let at = Math.min(r, keep - 1);
      while (at > 0 && distances[at - 1] > d) {
        distances[at] = distances[at - 1];
        indices[at] = indices[at - 1];
        at--;
      }
      distances[at] = d;
      indices[at] = r;
    }
    return { indices, distances };
  }

  searchAll(queries: Float32Array[], k: number, onQuery?: () => void): Promise<NeighbourList[]> {
    return eachQuery((q, kk) => this.search(q, kk), queries, k, onQuery);
  }
}

/** Queries per block of products, and references per tile: one block is at most 1024 x 16384 float32 (64 MiB). */
const QUERY_BLOCK = 1024;
const REFERENCE_TILE = 16384;

/**
 * How far a float32 product of unit vectors can be from the double-precision dot product the
 * scalar scan computes: rounding each of the `dim` coordinates to float32 (2 x 2^-24 relative per
 * term) plus summing `dim` float32 terms in any order (gamma_dim = dim x 2^-24 / (1 - dim x 2^-24),
 * Higham's bound, which holds whatever order and blocking the kernel sums in), each relative to
 * sum |u_i v_i| <= |u| |v| = 1; the 1.01 covers the double-precision scan's own rounding
 * (dim x 2^-53) and norms a few ulps above 1. 7.0e-5 for 1,152 dimensions.
 */
export function productErrorBound(dim: number): number {
  const terms = (dim + 2) * 2 ** -24;
  return (1.01 * terms) / (1 - terms);
}

/**
 * A query's candidates while the products arrive tile by tile: the k largest products so far, and
 * every reference whose product is within twice the error bound of the k-th of them. Twice: the k
 * references with the largest products have exact dot products at least (k-th product - bound),
 * so the exact k nearest do too, and each of those has a product at least one more bound below.
 */
class Shortlist {
  /** The k largest products so far, largest first. */
  private readonly top: Float64Array;
  private indices: number[] = [];
  private products: number[] = [];

  constructor(
    private readonly k: number,
    private readonly margin: number,
  ) {
    this.top = new Float64Array(k).fill(-Infinity);
  }

  private get floor(): number {
    return this.top[this.k - 1] - this.margin;
  }

  /** products[offset + j] is reference first + j's product with this query, for j < width. */
  add(products: Float32Array, offset: number, width: number, first: number): void {
    const { top, k } = this;
    for (let j = 0; j < width; j++) {
      const p = products[offset + j];
      if (!(p > top[k - 1])) continue;
      let at = k - 1;
      while (at > 0 && top[at - 1] < p) {
        top[at] = top[at - 1];
        at--;
      }
      top[at] = p;
    }
    const floor = this.floor;
    if (this.indices.length > 4 * k + 64) this.prune(floor);
    for (let j = 0; j < width; j++) {
      const p = products[offset + j];
      if (p >= floor) {
        this.indices.push(first + j);
        this.products.push(p);
      }
    }
  }

  /** Drops candidates a later tile pushed below the floor. */
  private prune(floor: number): void {
    const kept = this.products.flatMap((p, i) => (p >= floor ? [i] : []));
    this.indices = kept.map((i) => this.indices[i]);
    this.products = kept.map((i) => this.products[i]);
  }

  candidates(): number[] {
    this.prune(this.floor);
    return this.indices;
  }
}

/**
 * Exact search with the distances computed as matrix products, a block of queries against a tile of
 * references per call (onnxruntime's CPU Gemm): the same neighbours and distances as ExactIndex.
 * The float32 products only shortlist (see Shortlist); the shortlisted references are re-scored
 * with the scan's double-precision distance and ranked by distance, then reference index, so
 * near-ties and exact duplicates are ordered as the scan orders them.
 */
export class BlockedExactIndex implements NeighbourIndex {
  private readonly table: RowScorer;
  /**
   * The unit references rounded to float32 (unitRows' values, rounded once), the right-hand side
   * of the products: the only copy of the references this index holds, 4 bytes a value.
   */
  private readonly units32: Float32Array;

  /** `threads` for the products; 0 or undefined: every core. */
  constructor(
    references: References,
    dim: number,
    private readonly threads?: number,
  ) {
    this.table = new RowScorer(rowSource(references, dim), dim);
    this.units32 = unitRows32(this.table.rows, dim);
  }

  get size(): number {
    return this.table.size;
  }

  async searchAll(queries: Float32Array[], k: number, onQuery?: () => void): Promise<NeighbourList[]> {
    const { dim } = this.table;
    const n = this.size;
    if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a whole number of at least 1, not ${k}`);
    const wrong = queries.findIndex((q) => q.length !== dim);
    if (wrong >= 0) throw new Error(`query ${wrong} has ${queries[wrong].length} dimensions, the references ${dim}`);
    if (queries.length === 0 || n === 0) return queries.map(() => ({ indices: new Int32Array(0), distances: new Float64Array(0) }));
    const keep = Math.min(k, n);
    const margin = 2 * productErrorBound(dim);
    // Equal tiles of at most REFERENCE_TILE rows.
    const tileRows = Math.ceil(n / Math.ceil(n / REFERENCE_TILE));
    const product = await TransposedProduct.open(this.threads);
    try {
      const found: NeighbourList[] = [];
      for (let q0 = 0; q0 < queries.length; q0 += QUERY_BLOCK) {
        const units = unitRows(queries.slice(q0, q0 + QUERY_BLOCK), dim);
        const rows = units.length / dim;
        const units32 = Float32Array.from(units);
        const shortlists = Array.from({ length: rows }, () => new Shortlist(keep, margin));
        for (let r0 = 0; r0 < n; r0 += tileRows) {
          const r1 = Math.min(n, r0 + tileRows);
          const products = await product.run(units32, this.units32.subarray(r0 * dim, r1 * dim), dim);
          shortlists.forEach((s, i) => s.add(products, i * (r1 - r0), r1 - r0, r0));
        }
        shortlists.forEach((s, i) => {
          found.push(this.table.nearest(units.subarray(i * dim, (i + 1) * dim), s.candidates(), keep));
          onQuery?.();
        });
      }
      return found;
    } finally {
      await product.release();
    }
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

/** Where an HnswIndex's graph comes from. */
export interface HnswBuild {
  /** A file HnswIndex.save wrote for the same references and options: read instead of built. */
  from?: string;
  /** After each reference added while building (building takes minutes at a million rows). */
  onAdded?: (done: number, total: number) => void;
}

export class HnswIndex implements NeighbourIndex {
  private readonly table: RowScorer;
  private readonly graph: HnswGraph;

  /** Throws where hnswlib-node cannot be loaded (see loadHnsw). */
  constructor(
    references: References,
    dim: number,
    private readonly options: HnswOptions = DEFAULT_HNSW,
    build: HnswBuild = {},
  ) {
    const hnsw = loadHnsw();
    if ("error" in hnsw) throw new Error(hnswUnavailableNotice(hnsw.error));
    this.table = new RowScorer(rowSource(references, dim), dim);
    this.graph = new hnsw.module.HierarchicalNSW("cosine", dim);
    const n = this.table.size;
    if (build.from) {
      this.graph.readIndexSync(build.from);
      const count = this.graph.getCurrentCount();
      if (count !== n) throw new Error(`${build.from} holds a graph of ${count} vectors, not of the ${n} references`);
      return;
    }
    this.graph.initIndex(Math.max(1, n), options.m, options.efConstruction, options.seed);
    for (let i = 0; i < n; i++) {
      this.graph.addPoint(Array.from(this.table.rows.row(i)), i);
      build.onAdded?.(i + 1, n);
    }
  }

  get size(): number {
    return this.table.size;
  }

  /** Writes the graph (hnswlib's own format: the unit vectors and the links) for `from` to read. */
  save(file: string): void {
    this.graph.writeIndexSync(file);
  }

  search(query: Float32Array, k: number): NeighbourList {
    const wanted = Math.min(k, this.size);
    this.graph.setEf(Math.max(this.options.efSearch, wanted));
    const found = this.graph.searchKnn(Array.from(query), wanted).neighbors;
    return this.table.nearest(unitRows([query], this.table.dim), found, wanted);
  }

  searchAll(queries: Float32Array[], k: number, onQuery?: () => void): Promise<NeighbourList[]> {
    return eachQuery((q, kk) => this.search(q, kk), queries, k, onQuery);
  }
}
