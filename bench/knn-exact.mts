/**
 * Exact KNN search at ImageNet size: the scalar scan (ExactIndex, on a subset of the queries,
 * extrapolated), a register-blocked JavaScript product kernel (products only, on a subset,
 * extrapolated) and the blocked matrix-product search (BlockedExactIndex, every query), on seeded
 * random vectors. Writes references.npy, queries.npy and the blocked search's neighbours
 * (neighbours.json) into <dir> for bench/knn_exact_sklearn.py, and prints one JSON line.
 *
 * Usage: node --import tsx bench/knn-exact.mts <dir> [references] [queries] [dim] [k] [scan-subset]
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { mulberry32 } from "../src/eval/random.js";
import { BlockedExactIndex, ExactIndex, unitRows } from "../src/eval/knn/search.js";
import { npyHeader } from "../src/io/npy-writer.js";

const [dir, ...sizes] = process.argv.slice(2);
if (!dir) throw new Error("usage: node --import tsx bench/knn-exact.mts <dir> [references] [queries] [dim] [k] [scan-subset]");
const [nReferences, nQueries, dim, k, subset] = [10_000, 20_000, 1152, 10, 500].map((d, i) => Number(sizes[i] ?? d));

function gaussianRows(count: number, seed: number): Float32Array[] {
  const random = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Array.from({ length: count }, () => Float32Array.from({ length: dim }, normal));
}

function writeNpy(path: string, rows: Float32Array[]): void {
  const body = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => body.set(r, i * dim));
  writeFileSync(path, Buffer.concat([npyHeader(rows.length, dim), Buffer.from(body.buffer)]));
}

const seconds = (start: number) => (performance.now() - start) / 1000;

const references = gaussianRows(nReferences, 1);
const queries = gaussianRows(nQueries, 2);
writeNpy(join(dir, "references.npy"), references);
writeNpy(join(dir, "queries.npy"), queries);

// The scalar scan, one query at a time, as `emb knn eval --exact` searched before.
let start = performance.now();
const scan = new ExactIndex(references, dim);
const scanned = subset > 0 ? await scan.searchAll(queries.slice(0, subset), k) : [];
const scanSeconds = seconds(start);

// Products only (no selection), 2 queries x 4 references per inner loop in eight local
// accumulators: what a register-blocked JavaScript kernel reaches without onnxruntime.
const unitReferences = Float32Array.from(unitRows(references, dim));
const jsSubset = Math.min(64, nQueries);
const unitQueries = Float32Array.from(unitRows(queries.slice(0, jsSubset), dim));
start = performance.now();
const out = new Float32Array(jsSubset * nReferences);
for (let q = 0; q + 2 <= jsSubset; q += 2) {
  const qa = q * dim;
  const qb = qa + dim;
  for (let r = 0; r + 4 <= nReferences; r += 4) {
    const r0 = r * dim;
    const r1 = r0 + dim;
    const r2 = r1 + dim;
    const r3 = r2 + dim;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
    for (let i = 0; i < dim; i++) {
      const x = unitQueries[qa + i];
      const y = unitQueries[qb + i];
      const v0 = unitReferences[r0 + i];
      const v1 = unitReferences[r1 + i];
      const v2 = unitReferences[r2 + i];
      const v3 = unitReferences[r3 + i];
      a0 += x * v0;
      a1 += x * v1;
      a2 += x * v2;
      a3 += x * v3;
      b0 += y * v0;
      b1 += y * v1;
      b2 += y * v2;
      b3 += y * v3;
    }
    const o = q * nReferences + r;
    out[o] = a0;
    out[o + 1] = a1;
    out[o + 2] = a2;
    out[o + 3] = a3;
    out[o + nReferences] = b0;
    out[o + nReferences + 1] = b1;
    out[o + nReferences + 2] = b2;
    out[o + nReferences + 3] = b3;
  }
}
const jsSeconds = seconds(start);

start = performance.now();
const blocked = await new BlockedExactIndex(references, dim).searchAll(queries, k);
const blockedSeconds = seconds(start);

const same = scanned.filter((s, q) => s.indices.every((r, j) => r === blocked[q].indices[j]) && s.distances.every((d, j) => d === blocked[q].distances[j])).length;
writeFileSync(join(dir, "neighbours.json"), JSON.stringify(blocked.map((l) => Array.from(l.indices))));

const perQueryScan = scanSeconds / Math.max(1, subset);
console.log(
  JSON.stringify({
    references: nReferences,
    queries: nQueries,
    dim,
    k,
    scan: { queries: subset, seconds: +scanSeconds.toFixed(2), msPerQuery: +(perQueryScan * 1000).toFixed(2), extrapolatedSeconds: +(perQueryScan * nQueries).toFixed(1) },
    jsKernelProductsOnly: { queries: jsSubset, seconds: +jsSeconds.toFixed(2), extrapolatedSeconds: +((jsSeconds / jsSubset) * nQueries).toFixed(1) },
    blocked: { queries: nQueries, seconds: +blockedSeconds.toFixed(2) },
    sameAsScan: `${same}/${scanned.length}`,
    rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
  }),
);
