/**
 * emb search --index: HNSW answers as exact search does on a small folder (its candidate list
 * covers every row), and its graph is cached in the folder's search-index/: built on the first
 * run, read back on the next, built again when rows are appended or replaced, built in memory
 * (and said so) where the cache cannot be written, and kept apart for shard folders given
 * together. --index auto stays exact on small folders.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadHnsw } from "../../src/eval/knn/search.js";
import { JsonlAppender, readJsonl } from "../../src/io/jsonl.js";
import { parseNpy } from "../../src/io/npy.js";
import { NpyAppendWriter } from "../../src/io/npy-writer.js";
import { runCli } from "../helpers/cli.js";
import { fixturePath } from "../helpers/fixtures.js";

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-search-index-${name}-`));
const GRAPH = join("search-index", "hnsw-m16-efc100-seed100.bin");

function search(folders: string[], extra: string[]) {
  const run = runCli(["search", ...folders, ...extra, "--json"]);
  return { ...run, json: run.status === 0 ? JSON.parse(run.stdout) : undefined };
}

/** Hits of every query as [path, score] pairs, to compare two searches. */
const hits = (json: { results: { results: { path: string; score: number }[] }[] }) => json.results.map((r) => r.results.map((h) => [h.path, h.score]));

describe.skipIf(!("module" in loadHnsw()))("emb search --index hnsw and its cached graph", () => {
  const model = fixturePath("siglip-tiny");
  let folder: string;
  let rows: number;
  let allRows: string[];
  beforeAll(() => {
    folder = join(tmp("folder"), "emb");
    const run = runCli(["embed", "image", fixturePath("images"), "--model", model, "--out", folder, "--no-progress"]);
    expect(run.status, run.stderr).toBe(0);
    rows = readJsonl(join(folder, "index.jsonl")).length;
    allRows = Array.from({ length: rows }, (_, r) => ["--row", String(r)]).flat();
  });

  const copy = (name: string) => {
    const out = join(tmp(name), "emb");
    cpSync(folder, out, { recursive: true });
    return out;
  };

  it("auto is exact on a small folder; hnsw gives the exact neighbours and scores there", () => {
    const dir = copy("equal");
    const exact = search([dir], [...allRows, "-k", String(rows)]);
    expect(exact.status, exact.stderr).toBe(0);
    expect(exact.json.index).toBe("exact");
    expect(existsSync(join(dir, "search-index"))).toBe(false);
    const hnsw = search([dir], [...allRows, "-k", String(rows), "--index", "hnsw"]);
    expect(hnsw.status, hnsw.stderr).toBe(0);
    expect(hnsw.json.index).toBe("hnsw");
    expect(hits(hnsw.json)).toEqual(hits(exact.json));
    const text = search([dir], ["--text", "a dog on a beach", "-k", "5", "--index", "hnsw"]);
    expect(hits(text.json)).toEqual(hits(search([dir], ["--text", "a dog on a beach", "-k", "5", "--index", "exact"]).json));
  });

  it("builds the graph once and reuses it on the next run", () => {
    const dir = copy("reuse");
    // what a killed build would have left
    mkdirSync(join(dir, "search-index"));
    const stale = join(dir, `${GRAPH}.partial-999999`);
    writeFileSync(stale, "half a graph");
    const first = search([dir], ["--row", "3", "--index", "hnsw"]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toContain("built the HNSW index of");
    expect(existsSync(stale)).toBe(false);
    const graph = join(dir, GRAPH);
    const built = statSync(graph).mtimeMs;
    const record = JSON.parse(readFileSync(graph.replace(/\.bin$/, ".json"), "utf8"));
    expect(record).toMatchObject({ rows, m: 16, efConstruction: 100, seed: 100 });
    const second = search([dir], ["--row", "3", "--index", "hnsw"]);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).toContain("reusing the HNSW index");
    expect(second.stderr).not.toContain("built the HNSW index");
    expect(statSync(graph).mtimeMs).toBe(built);
    expect(hits(second.json)).toEqual(hits(first.json));
  });

  it("builds it again when rows are appended or replaced", () => {
    const dir = copy("changed");
    expect(search([dir], ["--row", "0", "--index", "hnsw"]).stderr).toContain("built the HNSW index of");
    // an appended row: a copy of row 0's vector under another path
    const npy = parseNpy(readFileSync(join(dir, "embeddings.npy")));
    const dim = npy.shape[1];
    const writer = NpyAppendWriter.open(join(dir, "embeddings.npy"), dim);
    writer.append((npy.data as Float32Array).slice(0, dim));
    writer.close();
    const records = readJsonl<{ row: number; path: string }>(join(dir, "index.jsonl"));
    const index = new JsonlAppender(join(dir, "index.jsonl"));
    index.append([{ ...records[0], row: rows, path: `${records[0].path}.copy.jpg` }]);
    index.close();
    const appended = search([dir], ["--row", String(rows), "-k", "2", "--index", "hnsw"]);
    expect(appended.status, appended.stderr).toBe(0);
    expect(appended.stderr).toContain("was built for other rows or parameters: building it again");
    expect(appended.stderr).toContain(`built the HNSW index of ${rows + 1} rows`);
    expect(appended.json.results[0].results.map((h: { path: string }) => h.path).sort()).toEqual([records[0].path, `${records[0].path}.copy.jpg`].sort());
    expect(search([dir], ["--row", "0", "--index", "hnsw"]).stderr).toContain("reusing the HNSW index");

    // a replaced row: row 1's vector written over with row 2's, the records as they were
    const now = parseNpy(readFileSync(join(dir, "embeddings.npy")));
    const data = now.data as Float32Array;
    data.copyWithin(dim, 2 * dim, 3 * dim);
    const bytes = readFileSync(join(dir, "embeddings.npy"));
    const header = bytes.length - data.byteLength;
    writeFileSync(join(dir, "embeddings.npy"), Buffer.concat([bytes.subarray(0, header), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
    const replaced = search([dir], ["--row", "1", "-k", "2", "--index", "hnsw"]);
    expect(replaced.status, replaced.stderr).toBe(0);
    expect(replaced.stderr).toContain("building it again");
    expect(replaced.json.results[0].results[1].score).toBeCloseTo(1, 6);
  });

  it("builds in memory, and says so, where the cache cannot be written", () => {
    const dir = copy("readonly");
    // a file where the cache folder would go: mkdir fails even for root
    writeFileSync(join(dir, "search-index"), "not a folder");
    const run = search([dir], [...allRows, "-k", "4", "--index", "hnsw"]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/cannot write .*search-index .*building the HNSW index in memory/);
    expect(hits(run.json)).toEqual(hits(search([dir], [...allRows, "-k", "4", "--index", "exact"]).json));
  });

  it("caches the graph of shard folders given together in the first, keyed by all of them", () => {
    const base = tmp("shards");
    const shards = [0, 1].map((i) => join(base, `shard-${i}`));
    shards.forEach((out, i) => {
      const run = runCli(["embed", "image", fixturePath("images"), "--model", model, "--out", out, "--shard", `${i}/2`, "--no-progress"]);
      expect(run.status, run.stderr).toBe(0);
    });
    const together = search(shards, ["--text", "a dog", "-k", "15", "--index", "hnsw"]);
    expect(together.status, together.stderr).toBe(0);
    expect(hits(together.json)).toEqual(hits(search(shards, ["--text", "a dog", "-k", "15", "--index", "exact"]).json));
    const cached = readdirSync(join(shards[0], "search-index"));
    expect(cached.some((f) => /^hnsw-m16-efc100-seed100-shards-[0-9a-f]{12}\.bin$/.test(f))).toBe(true);
    expect(existsSync(join(shards[1], "search-index"))).toBe(false);
    expect(search(shards, ["--text", "a dog", "--index", "hnsw"]).stderr).toContain("reusing the HNSW index");
    // the first shard alone is another set of rows: its own graph
    expect(search([shards[0]], ["--row", "0", "--index", "hnsw"]).stderr).toContain("built the HNSW index of");
  });
});
