import { afterEach, describe, expect, it } from "vitest";
import { evaluateKnn } from "../../src/eval/knn/evaluate.js";
import { hnswUnavailableNotice, loadHnsw, setHnswLoader } from "../../src/eval/knn/search.js";
import { readJson } from "../helpers/fixtures.js";

interface GoldenCase {
  name: string;
  train: { vectors: number[][]; labels: string[] };
  valid: { vectors: number[][]; labels: string[] };
  expected: { k: number; weights: "distance" | "uniform"; predict: string[]; top1: number; top5: number };
}

const cases = readJson<{ cases: GoldenCase[] }>("goldens", "knn", "synthetic.json").cases;
const f32 = (rows: number[][]) => rows.map((r) => Float32Array.from(r));

describe("HNSW falls back to exact search when hnswlib-node cannot be loaded", () => {
  afterEach(() => setHnswLoader());

  it.each(cases.map((c) => [c.name, c] as const))("%s: same results as exact search, and one notice", async (_, c) => {
    const refs = { vectors: f32(c.train.vectors), labels: c.train.labels };
    const queries = { vectors: f32(c.valid.vectors), labels: c.valid.labels, ids: c.valid.labels.map((_, i) => `q${i}`) };
    const base = { k: c.expected.k, weighting: c.expected.weights, agreementSample: 1000 };
    const exact = await evaluateKnn(refs, queries, { ...base, search: "exact", onFallback: () => expect.fail("no notice for --exact") });

    let loads = 0;
    setHnswLoader(() => {
      loads++;
      throw new Error("Could not locate the bindings file. Tried:\n → build/Release/addon.node");
    });
    const notices: string[] = [];
    const fallback = await evaluateKnn(refs, queries, { ...base, search: "hnsw", onFallback: (n) => notices.push(n) });

    expect(fallback).toEqual(exact);
    expect(fallback.search).toBe("exact");
    expect(fallback.agreement).toBeUndefined();
    expect(fallback.predictions.map((p) => p.predicted)).toEqual(c.expected.predict);
    expect(notices).toHaveLength(1);
    expect(notices[0]).not.toContain("\n");
    expect(notices[0]).toMatch(/hnswlib-node could not be loaded: Could not locate the bindings file\. Tried:\); using exact search/);
    expect(notices[0]).toContain("npm rebuild hnswlib-node");
    // The failed load is remembered: a second evaluation does not try again.
    await evaluateKnn(refs, queries, { ...base, search: "hnsw" });
    expect(loads).toBe(1);
  });

  it("advises installing again where npm removed the failed optional build, rebuilding where it is there unbuilt", () => {
    // npm removes an optional dependency whose build failed: `npm rebuild` would find nothing.
    expect(hnswUnavailableNotice("Cannot find module 'hnswlib-node'")).toMatch(/C\+\+ toolchain and Python, then run `npm ci`$/);
    expect(hnswUnavailableNotice("Could not locate the bindings file. Tried:")).toMatch(/then run `npm rebuild hnswlib-node`$/);
  });

  it.skipIf(!("module" in loadHnsw()))("loads the real module again once the loader is restored", () => {
    setHnswLoader(() => {
      throw new Error("Cannot find module 'hnswlib-node'");
    });
    expect(loadHnsw()).toEqual({ error: "Cannot find module 'hnswlib-node'" });
    setHnswLoader();
    expect("module" in loadHnsw()).toBe(true);
  });
});
