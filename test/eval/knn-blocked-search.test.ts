import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../src/eval/random.js";
import { BlockedExactIndex, ExactIndex, HnswIndex, loadHnsw, productErrorBound, unitRows, type NeighbourList } from "../../src/eval/knn/search.js";
import { TransposedProduct } from "../../src/runtime/matmul.js";
import { readJson } from "../helpers/fixtures.js";

function gaussianRows(count: number, dim: number, seed: number): Float32Array[] {
  const random = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Array.from({ length: count }, () => Float32Array.from({ length: dim }, normal));
}

/** The float32 value `steps` steps from `x`, up (positive) or down (negative); x not 0. */
function nextFloat32(x: number, steps: number): number {
  const bits = new Int32Array(Float32Array.of(x).buffer);
  bits[0] += x > 0 === steps > 0 ? Math.abs(steps) : -Math.abs(steps);
  return new Float32Array(bits.buffer)[0];
}

/** The scalar scan's answer, the definition blocked search must reproduce bit for bit. */
const scan = (references: Float32Array[], queries: Float32Array[], k: number) => new ExactIndex(references, references[0].length).searchAll(queries, k);

const plain = (lists: NeighbourList[]) => lists.map((l) => ({ indices: Array.from(l.indices), distances: Array.from(l.distances) }));

describe("blocked exact search (matrix products) equals the scalar scan", () => {
  it("on random vectors, across query blocks and reference tiles, with zero vectors", async () => {
    // 1,100 queries: two blocks of 1,024; 16,500 references: two tiles of 16,384.
    const dim = 8;
    const references = gaussianRows(16_500, dim, 1);
    const queries = gaussianRows(1_100, dim, 2);
    references[7] = new Float32Array(dim);
    queries[3] = new Float32Array(dim);
    let ticks = 0;
    const blocked = await new BlockedExactIndex(references, dim).searchAll(queries, 10, () => ticks++);
    expect(ticks).toBe(queries.length);
    expect(plain(blocked)).toEqual(plain(await scan(references, queries, 10)));
    // A zero query is at distance 1 from everything: the ten lowest indices.
    expect(Array.from(blocked[3].indices)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(blocked[3].distances)).toEqual(new Array(10).fill(1));
  });

  it("in 1,152 dimensions, the size of SigLIP so400m's embeddings", async () => {
    const references = gaussianRows(1_000, 1152, 3);
    const queries = gaussianRows(100, 1152, 4);
    expect(plain(await new BlockedExactIndex(references, 1152).searchAll(queries, 10))).toEqual(plain(await scan(references, queries, 10)));
  });

  it("breaks ties between exact duplicates by the lower reference index, as the scan and sklearn's goldens do", async () => {
    const dim = 16;
    const base = gaussianRows(40, dim, 5);
    // References 0..39 and their copies at 40..79, then 80..119: every vector three times.
    const references = [...base, ...base, ...base];
    const queries = [base[12], base[30], ...gaussianRows(50, dim, 6)];
    const blocked = await new BlockedExactIndex(references, dim).searchAll(queries, 5);
    expect(plain(blocked)).toEqual(plain(await scan(references, queries, 5)));
    // A query equal to reference 12 finds its three copies first, in index order, at distance 0 or
    // within a rounding error of it.
    expect(Array.from(blocked[0].indices.slice(0, 3))).toEqual([12, 52, 92]);
    expect(Array.from(blocked[1].indices.slice(0, 3))).toEqual([30, 70, 110]);
    // Copies of one vector are equally far from every query: each copy follows the first.
    for (const list of blocked.slice(2)) {
      const firstCopy = list.indices[0] % 40;
      expect(Array.from(list.indices.slice(0, 3))).toEqual([firstCopy, firstCopy + 40, firstCopy + 80]);
    }
  });

  it("ranks near-ties that float32 products misorder by their double-precision distances", async () => {
    // Sixty copies of one vector, copy j with coordinate j moved by 1 to 16 float32 steps: their
    // cosines with a query close to it differ by about 1e-9 to 1e-8, below what float32 products
    // resolve near 1 (6e-8) and far above double precision's resolution. They are the nearest
    // references, so the ten neighbours are chosen among them.
    const dim = 64;
    const [centre, noise] = gaussianRows(2, dim, 7);
    const query = centre.map((x, i) => x + 0.01 * noise[i]);
    const nearTies = Array.from({ length: 60 }, (_, j) => {
      const v = Float32Array.from(centre);
      v[j] = nextFloat32(v[j], (j % 2 === 0 ? 1 : -1) * (1 + ((7 * j) % 16)));
      return v;
    });
    const references = [...gaussianRows(200, dim, 8), ...nearTies];
    const k = 10;
    const exact = await scan(references, [query], k);
    const blocked = await new BlockedExactIndex(references, dim).searchAll([query], k);
    expect(plain(blocked)).toEqual(plain(exact));
    expect(Array.from(blocked[0].indices).every((r) => r >= 200)).toBe(true);

    // The case the margin exists for: some of the exact ten have a float32 product strictly below
    // the tenth largest product, so keeping the k largest products would lose them.
    const product = await TransposedProduct.open();
    const products = await product.run(Float32Array.from(unitRows([query], dim)), Float32Array.from(unitRows(references, dim)), dim);
    await product.release();
    const tenth = Array.from(products).sort((x, y) => y - x)[k - 1];
    expect(Array.from(exact[0].indices).filter((r) => products[r] < tenth).length).toBeGreaterThan(0);
  });

  it("on the sklearn golden cases (ties and zero distances included)", async () => {
    const cases = readJson<{ cases: { name: string; train: { vectors: number[][] }; valid: { vectors: number[][] }; expected: { k: number } }[] }>(
      "goldens",
      "knn",
      "synthetic.json",
    ).cases;
    for (const c of cases) {
      const references = c.train.vectors.map((r) => Float32Array.from(r));
      const queries = c.valid.vectors.map((r) => Float32Array.from(r));
      const blocked = await new BlockedExactIndex(references, references[0].length).searchAll(queries, c.expected.k);
      expect(plain(blocked), c.name).toEqual(plain(await scan(references, queries, c.expected.k)));
    }
  });

  it("takes the references as arrays, as one row-major buffer or as rows read on demand, with the same results", async () => {
    const dim = 24;
    const references = gaussianRows(500, dim, 11);
    const queries = gaussianRows(40, dim, 12);
    const flat = new Float32Array(500 * dim);
    references.forEach((r, i) => flat.set(r, i * dim));
    let reads = 0;
    const onDemand = {
      count: 500,
      row: (i: number) => {
        reads++;
        return Float32Array.from(references[i]);
      },
    };
    const expected = plain(await scan(references, queries, 7));
    expect(plain(await new BlockedExactIndex(flat, dim).searchAll(queries, 7))).toEqual(expected);
    expect(plain(await new BlockedExactIndex(onDemand, dim).searchAll(queries, 7))).toEqual(expected);
    // every row once for the products, then only the shortlisted ones again
    expect(reads).toBeGreaterThan(500);
    expect(reads).toBeLessThan(500 + 40 * 50);
    expect(() => new BlockedExactIndex(flat.subarray(1), dim)).toThrow(`a buffer of ${500 * dim - 1} values is not rows of ${dim} dimensions`);
  });

  it("returns every reference when k exceeds their number, and refuses k below 1 and queries of another size", async () => {
    const references = gaussianRows(3, 4, 8);
    const index = new BlockedExactIndex(references, 4);
    const [found] = await index.searchAll([references[1]], 10);
    expect(found.indices).toHaveLength(3);
    expect(found.indices[0]).toBe(1);
    await expect(index.searchAll([references[0]], 0)).rejects.toThrow("k must be a whole number of at least 1, not 0");
    await expect(index.searchAll([references[0], new Float32Array(5)], 2)).rejects.toThrow("query 1 has 5 dimensions, the references 4");
  });
});

describe.skipIf(!("module" in loadHnsw()))("HNSW search", () => {
  it("equals exact search where its candidate list covers every reference, and reads back the graph it saved", async () => {
    const dim = 32;
    const references = gaussianRows(300, dim, 13);
    const queries = gaussianRows(30, dim, 14);
    const options = { m: 16, efConstruction: 300, efSearch: 300, seed: 100 };
    let added = 0;
    const built = new HnswIndex(references, dim, options, { onAdded: () => added++ });
    expect(added).toBe(300);
    const expected = plain(await scan(references, queries, 10));
    expect(plain(await built.searchAll(queries, 10))).toEqual(expected);
    const file = join(mkdtempSync(join(tmpdir(), "emb-hnsw-")), "graph.bin");
    built.save(file);
    expect(plain(await new HnswIndex(references, dim, options, { from: file }).searchAll(queries, 10))).toEqual(expected);
    expect(() => new HnswIndex(references.slice(1), dim, options, { from: file })).toThrow("holds a graph of 300 vectors, not of the 299 references");
  });
});

describe("the float32 product error bound", () => {
  it("holds for onnxruntime's products against double-precision dot products", async () => {
    const dim = 1152;
    const references = unitRows(gaussianRows(300, dim, 9), dim);
    const queries = unitRows(gaussianRows(50, dim, 10), dim);
    const product = await TransposedProduct.open();
    const products = await product.run(Float32Array.from(queries), Float32Array.from(references), dim);
    await product.release();
    let worst = 0;
    for (let q = 0; q < 50; q++) {
      for (let r = 0; r < 300; r++) {
        let dot = 0;
        for (let i = 0; i < dim; i++) dot += queries[q * dim + i] * references[r * dim + i];
        worst = Math.max(worst, Math.abs(products[q * 300 + r] - dot));
      }
    }
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThan(productErrorBound(dim));
    // (1,154 x 2^-24 x 1.01) / (1 - 1,154 x 2^-24), worked by hand.
    expect(productErrorBound(dim)).toBeCloseTo(6.9475e-5, 8);
  });
});
