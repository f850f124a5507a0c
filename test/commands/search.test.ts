/**
 * emb search against a brute-force reference computed here in double precision from the folder's
 * own embeddings.npy (cosine, highest first, equal scores to the lower row): queries by row, by
 * text (the vector emb embed text gives the same caption) and by image file (the vector of that
 * image's own row); shard folders searched together; and the refusals a user meets.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readJsonl } from "../../src/io/jsonl.js";
import { parseNpy } from "../../src/io/npy.js";
import { runCli } from "../helpers/cli.js";
import { fixturePath } from "../helpers/fixtures.js";

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-search-${name}-`));

interface Hit {
  rank: number;
  row: number;
  path: string;
  score: number;
}

function rows(dir: string): { path: string; vector: Float64Array }[] {
  const npy = parseNpy(readFileSync(join(dir, "embeddings.npy")));
  const d = npy.shape[1];
  return readJsonl<{ row: number; path: string }>(join(dir, "index.jsonl")).map((r) => ({
    path: r.path,
    vector: Float64Array.from((npy.data as Float32Array).subarray(r.row * d, (r.row + 1) * d)),
  }));
}

/** The k rows nearest to `query` by cosine, in double precision; equal scores keep row order. */
function bruteForce(dir: string, query: ArrayLike<number>, k: number): { path: string; score: number }[] {
  const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((a, x) => a + x * x, 0));
  const q = Array.from(query);
  const scored = rows(dir).map(({ path, vector }, row) => ({
    path,
    row,
    score: vector.reduce((a, x, i) => a + x * q[i], 0) / (norm(vector) * norm(q)),
  }));
  scored.sort((a, b) => b.score - a.score || a.row - b.row);
  return scored.slice(0, k).map(({ path, score }) => ({ path, score }));
}

function search(folders: string[], extra: string[]) {
  const run = runCli(["search", ...folders, ...extra, "--json"]);
  // with --json an error is a JSON document on stdout
  return { ...run, stderr: run.stderr + run.stdout, json: run.status === 0 ? JSON.parse(run.stdout) : undefined };
}

function expectHits(hits: Hit[], expected: { path: string; score: number }[]): void {
  expect(hits.map((h) => h.path)).toEqual(expected.map((e) => e.path));
  hits.forEach((h, i) => {
    expect(h.rank).toBe(i + 1);
    expect(h.score).toBeCloseTo(expected[i].score, 6);
  });
}

describe("emb search", () => {
  const model = fixturePath("siglip-tiny");
  let folder: string;
  beforeAll(() => {
    folder = join(tmp("folder"), "emb");
    const run = runCli(["embed", "image", fixturePath("images"), "--model", model, "--out", folder, "--no-progress"]);
    expect(run.status, run.stderr).toBe(0);
  });

  it("--jsonl prints one line per result, the --json document's hits in its order", () => {
    const json = search([folder], ["--row", "2", "--text", "a photo", "-k", "3"]).json;
    const run = runCli(["search", folder, "--row", "2", "--text", "a photo", "-k", "3", "--jsonl"]);
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toEqual(json.results.flatMap((r: { query: unknown; results: object[] }) => r.results.map((hit) => ({ query: r.query, ...hit }))));
  });

  it("by row: the row itself first, then the rest as brute force ranks them", () => {
    const all = rows(folder);
    for (const row of [0, 6, all.length - 1]) {
      const { status, stderr, json } = search([folder], ["--row", String(row), "-k", "6"]);
      expect(status, stderr).toBe(0);
      expect(json.results[0].query).toEqual({ row, path: all[row].path });
      expectHits(json.results[0].results, bruteForce(folder, all[row].vector, 6));
      expect(json.results[0].results[0].path).toBe(all[row].path);
    }
  });

  it("by text: the caption embedded with the folder's model, as emb embed text embeds it", () => {
    const caption = "A photo of a TENCH, in the river!";
    const text = join(tmp("text"), "text");
    expect(runCli(["embed", "text", caption, "--model", model, "--out", text, "--no-progress"]).status).toBe(0);
    const vector = parseNpy(readFileSync(join(text, "embeddings.npy"))).data as Float32Array;
    const { status, stderr, json } = search([folder], ["--text", caption, "-k", "15"]);
    expect(status, stderr).toBe(0);
    expect(json.results[0].query).toEqual({ text: caption });
    expectHits(json.results[0].results, bruteForce(folder, vector, 15));
  });

  it("by image file: decoded and embedded as emb embed image does, so its own row scores 1", () => {
    const file = fixturePath("images", "exif_rot90_400x300.jpg");
    const own = rows(folder).find((r) => r.path.endsWith("exif_rot90_400x300.jpg"))!;
    const { status, stderr, json } = search([folder], ["--image", file, "-k", "4"]);
    expect(status, stderr).toBe(0);
    expectHits(json.results[0].results, bruteForce(folder, own.vector, 4));
    expect(json.results[0].results[0].score).toBeCloseTo(1, 6);
  });

  it("searches the folders of one job's shards together as the whole folder", () => {
    const base = tmp("shards");
    const shards = [0, 1].map((i) => join(base, `shard-${i}`));
    shards.forEach((out, i) => {
      const run = runCli(["embed", "image", fixturePath("images"), "--model", model, "--out", out, "--shard", `${i}/2`, "--no-progress"]);
      expect(run.status, run.stderr).toBe(0);
    });
    const whole = search([folder], ["--text", "a dog", "-k", "15"]).json.results[0].results as Hit[];
    const sharded = search(shards, ["--text", "a dog", "-k", "15"]).json.results[0].results as Hit[];
    expect(sharded.map((h) => h.path)).toEqual(whole.map((h) => h.path));
    sharded.forEach((h, i) => expect(h.score).toBeCloseTo(whole[i].score, 6));
  });

  it("refuses what cannot be answered, in one sentence (exit 2)", () => {
    let run = search([folder], []);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("no query: give --text, --image or --row");
    run = search([folder], ["--row", "999"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("--row 999");

    const dino = join(tmp("dino"), "emb");
    expect(
      runCli(["embed", "image", fixturePath("images", "photo_500x375.jpg"), "--model", fixturePath("dinov2-tiny"), "--out", dino, "--no-progress"]).status,
    ).toBe(0);
    run = search([dino], ["--text", "a cat"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("DINOv2 is an image-only model");

    const bare = join(tmp("bare"), "emb");
    cpSync(folder, bare, { recursive: true });
    rmSync(join(bare, "run.json"));
    run = search([bare], ["--text", "a cat"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("has no run.json naming its model");
    // a row query needs no model
    expect(search([bare], ["--row", "0"]).status).toBe(0);
  });

  it("refuses text queries when the folder's model files changed since it was embedded", () => {
    const copy = join(tmp("model"), "siglip");
    cpSync(model, copy, { recursive: true });
    const out = join(tmp("changed"), "emb");
    expect(runCli(["embed", "image", fixturePath("images", "photo_500x375.jpg"), "--model", copy, "--out", out, "--no-progress"]).status).toBe(0);
    const config = join(copy, "preprocessor_config.json");
    writeFileSync(config, readFileSync(config, "utf8").replace(/\s*}\s*$/, ', "note": "edited"}\n'));
    const run = search([out], ["--text", "a cat"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("its files changed since");
  });
});
