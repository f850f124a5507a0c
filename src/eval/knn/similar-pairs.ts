/**
 * Every pair of rows whose cosine similarity reaches a threshold, found exactly: what emb dedup
 * needs, without scoring all n² pairs where the rows have structure.
 *
 * The rows are split into lists around k-means centres (one per 64 rows, at most 4,096). By the triangle
 * inequality a row x can be within distance ρ of a row y of list j only if
 * |d(x, c_j) − d(y, c_j)| ≤ ρ, so with each list's rows sorted by their distance to its centre,
 * the rows of j that x must be scored against are one contiguous slice, often empty. The slices
 * left are scored as float32 products on onnxruntime's GEMM (MLAS), each pair once, and products
 * within the float32 error bound of the threshold are scored again in double precision, as exact
 * search scores them. The centres decide only how much is pruned, never what is found: on rows
 * without structure (uniform random vectors) nothing is pruned, and the cost is that of scoring
 * every pair once.
 */
import { TransposedProduct } from "../../runtime/matmul.js";
import { mulberry32 } from "../random.js";
import { productErrorBound, RowScorer, type RowSource, unitRows, unitRows32 } from "./search.js";

export interface SimilarPairsOptions {
  /** Threads for the products; 0 or undefined: every core. */
  threads?: number;
  /** The k-means sample and starting centres. */
  seed?: number;
  /** How many lists to split the rows into (default: one per 64 rows, at most 4,096; one list below 4,096 rows). */
  lists?: number;
  /** After each row whose pairs have all been found. */
  onProgress?: (done: number, total: number) => void;
}

/** How the work went: the lists the rows were split into, and the pairs scored (of n(n-1)/2). */
export interface SimilarPairsWork {
  lists: number;
  scored: number;
}

/** Query rows per block of products: a block is at most 1024 x 16384 float32 products (64 MiB). */
const QUERY_BLOCK = 1024;
const TILE_ROWS = 16384;
/** Lists' slices share a product while at least this share of its products are needed. */
const NEEDED_SHARE = 0.4;
/** Folders smaller than this are one list: scoring every pair is quicker than finding centres. */
const SINGLE_LIST_BELOW = 4096;
const MAX_LISTS = 4096;
const ROWS_PER_LIST = 64;
const SAMPLE_PER_LIST = 16;
const KMEANS_ROUNDS = 4;
/**
 * Added to every distance bound: covers rounding the unit rows to float32 (at most 2^-24 of
 * their length) and the double-precision sums (dim x 2^-53), both far below it.
 */
const SLACK = 1e-6;

/**
 * Lists of about 64 rows, at most 4,096 lists: a list prunes only where it is no wider than the
 * groups the rows form, and finer lists cost little beside the pairs they save (each row's distance
 * to every centre: a product of rows x lists x dim).
 */
function defaultLists(n: number): number {
  return n < SINGLE_LIST_BELOW ? 1 : Math.min(MAX_LISTS, Math.max(Math.round(Math.sqrt(n)), Math.round(n / ROWS_PER_LIST)));
}

function squaredNorms(m: Float32Array, dim: number): Float64Array {
  const out = new Float64Array(m.length / dim);
  for (let r = 0; r < out.length; r++) {
    let s = 0;
    for (let i = r * dim; i < (r + 1) * dim; i++) s += m[i] * m[i];
    out[r] = s;
  }
  return out;
}

/** Index of the nearest centre for each of `rows` rows, from their products with the centres. */
function nearestCentres(products: Float32Array, rows: number, centreNorms: Float64Array, out: Int32Array, at: number): void {
  const k = centreNorms.length;
  for (let q = 0; q < rows; q++) {
    let best = 0;
    let bestScore = Infinity;
    for (let j = 0; j < k; j++) {
      // |x - c|² less |x|², which is the same for every centre
      const score = centreNorms[j] - 2 * products[q * k + j];
      if (score < bestScore) {
        bestScore = score;
        best = j;
      }
    }
    out[at + q] = best;
  }
}

/** Each row's list: Lloyd's k-means on a sample, empty lists restarted at the worst-placed rows; then every row to its nearest centre. */
async function partition(units: Float32Array, n: number, dim: number, lists: number, seed: number, product: TransposedProduct) {
  const random = mulberry32(seed);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const m = Math.min(n, lists * SAMPLE_PER_LIST);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(random() * (n - i));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const sample = new Float32Array(m * dim);
  for (let i = 0; i < m; i++) sample.set(units.subarray(order[i] * dim, (order[i] + 1) * dim), i * dim);
  const centres = sample.slice(0, lists * dim);
  const assigned = new Int32Array(m);
  const assignAll = async (rows: Float32Array, count: number, out: Int32Array) => {
    const norms = squaredNorms(centres, dim);
    for (let q0 = 0; q0 < count; q0 += QUERY_BLOCK) {
      const q1 = Math.min(count, q0 + QUERY_BLOCK);
      nearestCentres(await product.run(rows.subarray(q0 * dim, q1 * dim), centres, dim), q1 - q0, norms, out, q0);
    }
  };
  for (let round = 0; round < KMEANS_ROUNDS; round++) {
    await assignAll(sample, m, assigned);
    const sums = new Float64Array(lists * dim);
    const counts = new Int32Array(lists);
    for (let i = 0; i < m; i++) {
      counts[assigned[i]]++;
      for (let d = 0; d < dim; d++) sums[assigned[i] * dim + d] += sample[i * dim + d];
    }
    const empty: number[] = [];
    for (let j = 0; j < lists; j++) {
      if (counts[j] === 0) empty.push(j);
      else for (let d = 0; d < dim; d++) centres[j * dim + d] = sums[j * dim + d] / counts[j];
    }
    if (empty.length === 0) continue;
    // An empty list restarts at a sample row far from its centre, splitting a crowded list.
    const misfit = Array.from({ length: m }, (_, i) => i)
      .map((i) => {
        let s = 0;
        for (let d = 0; d < dim; d++) s += (sample[i * dim + d] - centres[assigned[i] * dim + d]) ** 2;
        return { i, s };
      })
      .sort((a, b) => b.s - a.s);
    empty.forEach((j, e) => centres.set(sample.subarray(misfit[e].i * dim, (misfit[e].i + 1) * dim), j * dim));
  }
  const list = new Int32Array(n);
  await assignAll(units, n, list);
  return { centres, list };
}

/** The first position in [from, to) whose value is at least `value` (values ascending). */
function firstAtLeast(values: Float64Array, from: number, to: number, value: number): number {
  while (from < to) {
    const mid = (from + to) >>> 1;
    if (values[mid] < value) from = mid + 1;
    else to = mid;
  }
  return from;
}

/** The first position in [from, to) whose value is above `value` (values ascending). */
function firstAbove(values: Float64Array, from: number, to: number, value: number): number {
  while (from < to) {
    const mid = (from + to) >>> 1;
    if (values[mid] <= value) from = mid + 1;
    else to = mid;
  }
  return from;
}

/**
 * Slices to score in one product: (query, first row, end) triples, the queries' rows against the
 * rows from the first slice's start to the last one's end.
 */
class Tile {
  queries: number[] = [];
  firsts: number[] = [];
  ends: number[] = [];
  /** The distinct queries, and which of the block's queries are among them. */
  picked: number[] = [];
  private readonly isPicked = new Uint8Array(QUERY_BLOCK);
  from = Number.POSITIVE_INFINITY;
  to = Number.NEGATIVE_INFINITY;
  /** Products the slices need, of the picked queries x (to - from) the product computes. */
  needed = 0;
  get empty(): boolean {
    return this.queries.length === 0;
  }
  /** Whether [first, end) keeps the product within TILE_ROWS rows. */
  spans(first: number, end: number): boolean {
    return this.empty || Math.max(end, this.to) - Math.min(first, this.from) <= TILE_ROWS;
  }
  /**
   * Whether another list's slices can share this product: at most TILE_ROWS rows, and most of the
   * products computed still needed (one call of many small products costs less than many calls).
   */
  joins(other: Tile): boolean {
    if (this.empty) return true;
    const width = Math.max(this.to, other.to) - Math.min(this.from, other.from);
    if (width > TILE_ROWS) return false;
    let union = this.picked.length;
    for (const q of other.picked) if (!this.isPicked[q]) union++;
    return this.needed + other.needed >= NEEDED_SHARE * union * width;
  }
  add(query: number, first: number, end: number): void {
    this.queries.push(query);
    this.firsts.push(first);
    this.ends.push(end);
    if (!this.isPicked[query]) {
      this.isPicked[query] = 1;
      this.picked.push(query);
    }
    this.from = Math.min(this.from, first);
    this.to = Math.max(this.to, end);
    this.needed += end - first;
  }
  merge(other: Tile): void {
    other.queries.forEach((q, s) => this.add(q, other.firsts[s], other.ends[s]));
  }
}

/**
 * Calls onPair(a, b), a < b, once for every pair of rows whose cosine similarity (in double
 * precision, as exact search scores it) is at least `threshold`; pairs come in no set order.
 */
export async function similarPairs(
  rows: RowSource,
  dim: number,
  threshold: number,
  onPair: (a: number, b: number) => void,
  options: SimilarPairsOptions = {},
): Promise<SimilarPairsWork> {
  const n = rows.count;
  if (n < 2) {
    for (let i = 0; i < n; i++) options.onProgress?.(i + 1, n);
    return { lists: Math.min(n, 1), scored: 0 };
  }
  const scorer = new RowScorer(rows, dim);
  const error = productErrorBound(dim);
  const product = await TransposedProduct.open(options.threads, true);
  try {
    const units = unitRows32(rows, dim);
    const lists = Math.min(n, options.lists ?? defaultLists(n));
    const { centres, list } =
      lists === 1 ? { centres: new Float32Array(dim), list: new Int32Array(n) } : await partition(units, n, dim, lists, options.seed ?? 1, product);
    const centreNorms = squaredNorms(centres, dim);

    // Rows in list order, each list by distance to its centre (computed in double precision).
    const radius = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      let s = 0;
      const c = list[r] * dim;
      for (let d = 0; d < dim; d++) s += (units[r * dim + d] - centres[c + d]) ** 2;
      radius[r] = Math.sqrt(s);
    }
    const perm = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => list[a] - list[b] || radius[a] - radius[b]);
    const start = new Int32Array(lists + 1);
    for (let r = 0; r < n; r++) start[list[r] + 1]++;
    for (let j = 0; j < lists; j++) start[j + 1] += start[j];
    const sortedRadius = Float64Array.from(perm, (r) => radius[r]);
    permuteRows(units, perm, dim);
    const unitNorms = squaredNorms(units, dim);

    // Pairs are a distance of at most rho apart: |x - y|² = 2 - 2 cos for unit rows.
    const rho = Math.sqrt(Math.max(0, 2 - 2 * threshold)) + SLACK;
    const above = threshold + error;
    const near = threshold - error;
    // Per list: how far the squared distance from a query to its centre may be off (float32
    // products), and the squared distances beyond which no row of the list can be near the query:
    // |d(x, c) - d(y, c)| > rho for every y, by the triangle inequality.
    const spread = Float64Array.from(centreNorms, (c) => 2 * error * Math.max(1, Math.sqrt(c)));
    const farthest = new Float64Array(lists).fill(-Infinity);
    const closest = new Float64Array(lists).fill(Infinity);
    for (let j = 0; j < lists; j++) {
      if (start[j] === start[j + 1]) continue;
      farthest[j] = (sortedRadius[start[j + 1] - 1] + rho + SLACK) ** 2 + spread[j];
      const inner = sortedRadius[start[j]] - rho - SLACK;
      closest[j] = inner > 0 ? inner ** 2 - spread[j] : -Infinity;
    }
    let done = 0;
    let scored = 0;
    const unitCache = new Map<number, Float64Array>();
    const unitOf = (row: number) => {
      let u = unitCache.get(row);
      if (!u) unitCache.set(row, (u = unitRows([rows.row(row)], dim)));
      return u;
    };
    const score = async (block: Float32Array, q0: number, tile: Tile) => {
      const picked = tile.picked.sort((a, b) => a - b);
      const slot = new Map(picked.map((q, i) => [q, i]));
      const queries = picked.length === block.length / dim ? block : gather(block, picked, dim);
      const { products, rowMax } = await product.runWithRowMax(queries, units.subarray(tile.from * dim, tile.to * dim), dim);
      const width = tile.to - tile.from;
      for (let s = 0; s < tile.queries.length; s++) {
        const q = tile.queries[s];
        scored += tile.ends[s] - tile.firsts[s];
        const row = slot.get(q)!;
        // most rows of products have none near the threshold: only those that do are read
        if (rowMax[row] < near) continue;
        const at = row * width - tile.from;
        const a = perm[q0 + q];
        for (
          let y = nextAtLeast(products, at, tile.firsts[s], tile.ends[s], near);
          y < tile.ends[s];
          y = nextAtLeast(products, at, y + 1, tile.ends[s], near)
        ) {
          const p = products[at + y];
          const b = perm[y];
          if (p > above || 1 - scorer.distance(unitOf(a), b) >= threshold) onPair(Math.min(a, b), Math.max(a, b));
        }
      }
      unitCache.clear();
    };

    // Which list each position is in: a block of queries may span several lists.
    const listAt = new Int32Array(n);
    for (let j = 0; j < lists; j++) listAt.fill(j, start[j], start[j + 1]);
    for (let q0 = 0; q0 < n; q0 += QUERY_BLOCK) {
      const q1 = Math.min(n, q0 + QUERY_BLOCK);
      const block = units.subarray(q0 * dim, q1 * dim);
      const toCentres = await product.run(block, centres, dim);
      // The lists each query must look into, its own and later ones (each pair once): a first
      // cut on squared distances, no square roots.
      const wanted: number[][] = [];
      for (let q = 0; q < q1 - q0; q++) {
        const base = q * lists;
        const own = unitNorms[q0 + q];
        for (let j = listAt[q0 + q]; j < lists; j++) {
          const squared = own - 2 * toCentres[base + j] + centreNorms[j];
          if (squared <= farthest[j] && squared >= closest[j]) (wanted[j] ??= []).push(q);
        }
      }
      let tile = new Tile();
      const place = async (slices: Tile) => {
        if (slices.empty) return;
        if (!tile.joins(slices)) {
          await score(block, q0, tile);
          tile = new Tile();
        }
        tile.merge(slices);
      };
      for (let j = listAt[q0]; j < lists; j++) {
        let slices = new Tile();
        for (const q of wanted[j] ?? []) {
          const squared = unitNorms[q0 + q] - 2 * toCentres[q * lists + j] + centreNorms[j];
          const low = Math.sqrt(Math.max(0, squared - spread[j])) - SLACK;
          const high = Math.sqrt(Math.max(0, squared + spread[j])) + SLACK;
          // only rows after the query's own: each pair once
          const first = Math.max(firstAtLeast(sortedRadius, start[j], start[j + 1], low - rho), q0 + q + 1);
          const end = firstAbove(sortedRadius, first, start[j + 1], high + rho);
          for (let f = first; f < end; f += TILE_ROWS) {
            const e = Math.min(end, f + TILE_ROWS);
            if (!slices.spans(f, e)) {
              await place(slices);
              slices = new Tile();
            }
            slices.add(q, f, e);
          }
        }
        await place(slices);
      }
      if (!tile.empty) await score(block, q0, tile);
      for (let q = q0; q < q1; q++) options.onProgress?.(++done, n);
    }
    return { lists, scored };
  } finally {
    await product.release();
  }
}

/** The first y in [from, to) whose product values[at + y] is at least `value`; `to` if none (the hot loop: kept small and monomorphic). */
function nextAtLeast(values: Float32Array, at: number, from: number, to: number, value: number): number {
  let y = from;
  while (y < to && values[at + y] < value) y++;
  return y;
}

/** Rows `picked` of a row-major block, in that order. */
function gather(block: Float32Array, picked: number[], dim: number): Float32Array {
  const out = new Float32Array(picked.length * dim);
  picked.forEach((q, i) => out.set(block.subarray(q * dim, (q + 1) * dim), i * dim));
  return out;
}

/** Reorders rows in place so that row p becomes the row perm[p] was: one row of scratch, following each cycle. */
function permuteRows(units: Float32Array, perm: Int32Array, dim: number): void {
  const placed = new Uint8Array(perm.length);
  const scratch = new Float32Array(dim);
  for (let s = 0; s < perm.length; s++) {
    if (placed[s] || perm[s] === s) continue;
    scratch.set(units.subarray(s * dim, (s + 1) * dim));
    let p = s;
    while (perm[p] !== s) {
      units.copyWithin(p * dim, perm[p] * dim, (perm[p] + 1) * dim);
      placed[p] = 1;
      p = perm[p];
    }
    units.set(scratch, p * dim);
    placed[p] = 1;
  }
}
