import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../src/eval/random.js";
import { similarPairs } from "../../src/eval/knn/similar-pairs.js";

const normalOf = (random: () => number) => () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

/** Rows around `clusters` random centres (0: no centres, plain Gaussian rows), each centre plus noise of `spread` times its length. */
function rows(count: number, dim: number, seed: number, clusters = 0, spread = 1): Float32Array[] {
  const random = mulberry32(seed);
  const normal = normalOf(random);
  const gaussian = () => Float32Array.from({ length: dim }, normal);
  const centres = Array.from({ length: clusters }, gaussian);
  return Array.from({ length: count }, () => {
    const g = gaussian();
    if (clusters === 0) return g;
    const c = centres[Math.floor(random() * clusters)];
    return g.map((x, i) => c[i] + spread * x);
  });
}

/** Copies of some rows with a little noise: near-duplicates at cosine about 1 - noise²/2. */
function plantCopies(base: Float32Array[], copies: number, noise: number, seed: number): Float32Array[] {
  const random = mulberry32(seed);
  const normal = normalOf(random);
  const out = [...base];
  for (let c = 0; c < copies; c++) {
    const of = base[Math.floor(random() * base.length)];
    const length = Math.hypot(...of);
    out.splice(
      Math.floor(random() * out.length),
      0,
      of.map((x) => x + (noise * length * normal()) / Math.sqrt(of.length)),
    );
  }
  return out;
}

/** The definition: every pair's cosine in double precision, each row divided by its length first (a zero row stays zero). */
function bruteForce(vectors: Float32Array[], threshold: number): string[] {
  const units = vectors.map((v) => {
    let s = 0;
    for (const x of v) s += x * x;
    const norm = Math.sqrt(s) || 1;
    return Float64Array.from(v, (x) => x / norm);
  });
  const pairs: string[] = [];
  for (let a = 0; a < units.length; a++)
    for (let b = a + 1; b < units.length; b++) {
      let dot = 0;
      for (let i = 0; i < units[a].length; i++) dot += units[a][i] * units[b][i];
      if (1 - Math.min(2, Math.max(0, 1 - dot)) >= threshold) pairs.push(`${a}-${b}`);
    }
  return pairs.sort();
}

async function found(vectors: Float32Array[], threshold: number, lists?: number): Promise<{ pairs: string[]; progress: number[]; scored: number }> {
  const pairs: string[] = [];
  const progress: number[] = [];
  const work = await similarPairs({ count: vectors.length, row: (i) => vectors[i] }, vectors[0]?.length ?? 1, threshold, (a, b) => pairs.push(`${a}-${b}`), {
    onProgress: (done) => progress.push(done),
    lists,
  });
  return { pairs: pairs.sort(), progress, scored: work.scored };
}

const allPairs = (n: number) => (n * (n - 1)) / 2;

describe("similar pairs: every pair at or above a cosine threshold, exactly", () => {
  it("on clustered rows with planted near-copies, where the lists around centres prune most pairs", async () => {
    // 6,000 rows (above the single-list size): 60 tight clusters, 300 near-copies.
    const vectors = plantCopies(rows(5_700, 24, 1, 60, 0.35), 300, 0.15, 2);
    for (const threshold of [0.99, 0.95, 0.8]) {
      const { pairs, progress, scored } = await found(vectors, threshold);
      const expected = bruteForce(vectors, threshold);
      expect(expected.length).toBeGreaterThan(100);
      expect(pairs).toEqual(expected);
      expect(progress).toEqual(Array.from({ length: vectors.length }, (_, i) => i + 1));
      // the point of the lists: most pairs are never scored
      if (threshold >= 0.95) expect(scored).toBeLessThan(allPairs(vectors.length) / 4);
    }
  });

  it("on rows without structure, where nothing is pruned, and on a low threshold that pairs many", async () => {
    const vectors = plantCopies(rows(4_500, 8, 3), 200, 0.1, 4);
    for (const threshold of [0.97, 0.6]) expect((await found(vectors, threshold)).pairs).toEqual(bruteForce(vectors, threshold));
  });

  it("in 1,152 dimensions, the size of SigLIP so400m's embeddings", async () => {
    const vectors = plantCopies(rows(1_400, 1152, 5, 20, 0.8), 100, 0.2, 6);
    const { pairs, scored } = await found(vectors, 0.95, 20);
    expect(pairs).toEqual(bruteForce(vectors, 0.95));
    expect(scored).toBeLessThan(allPairs(vectors.length) / 4);
  });

  it("pairs a cosine exactly at the threshold, identical rows at threshold 1, and never a zero row", async () => {
    const dim = 6;
    const vectors = rows(4_100, dim, 7);
    vectors[10] = Float32Array.of(3, 4, 0, 0, 0, 0);
    vectors[20] = Float32Array.of(4, 3, 0, 0, 0, 0);
    vectors[30] = vectors[40] = Float32Array.of(1, 2, 3, 4, 5, 6);
    vectors[50] = new Float32Array(dim);
    vectors[60] = new Float32Array(dim);
    // rows 10 and 20 meet at cosine 24/25, in double precision as the definition computes it
    const tie = 1 - Math.min(2, Math.max(0, 1 - ((0.6 * 0.8 + 0.8 * 0.6) as number)));
    const atTie = await found(vectors, tie);
    expect(atTie.pairs).toContain("10-20");
    expect(atTie.pairs).toEqual(bruteForce(vectors, tie));
    const identical = await found(vectors, 1);
    expect(identical.pairs).toContain("30-40");
    expect(identical.pairs).toEqual(bruteForce(vectors, 1));
    expect(identical.pairs.some((p) => p.split("-").some((r) => r === "50" || r === "60"))).toBe(false);
  });

  it("finds the same pairs in a small folder (one list) and on one or no rows", async () => {
    const vectors = plantCopies(rows(300, 12, 8, 5, 0.3), 40, 0.1, 9);
    expect((await found(vectors, 0.9)).pairs).toEqual(bruteForce(vectors, 0.9));
    expect(await found([Float32Array.of(1, 2)], 0.5)).toEqual({ pairs: [], progress: [1], scored: 0 });
    expect(await found([], 0.5)).toEqual({ pairs: [], progress: [], scored: 0 });
  });
});
