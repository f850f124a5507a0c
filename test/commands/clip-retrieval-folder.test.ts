/**
 * emb search and emb dedup on a folder in clip-retrieval's layout alone (img_emb/*.npy in float16
 * and metadata/*.parquet, as clip-retrieval's inference writes them, with none of emb's files):
 * row queries equal a brute-force ranking of those float16 rows, the rows are numbered across
 * the parts, text queries are refused in words, and dedup groups the planted copy (as an exact
 * duplicate where emb's metadata has content hashes, as a near one where it has image_path alone).
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetReadObjects } from "hyparquet";
import { beforeAll, describe, expect, it } from "vitest";
import { writeMetadataParquet } from "../../src/io/metadata-parquet.js";
import { parseNpy } from "../../src/io/npy.js";
import { runCli } from "../helpers/cli.js";
import { fixturePath } from "../helpers/fixtures.js";

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-clip-layout-${name}-`));

/** The layout's rows in part order, with image_path, read here from the files themselves. */
async function layoutRows(dir: string): Promise<{ path: string; vector: Float64Array }[]> {
  const out: { path: string; vector: Float64Array }[] = [];
  for (const npy of readdirSync(join(dir, "img_emb")).sort()) {
    const array = parseNpy(readFileSync(join(dir, "img_emb", npy)));
    expect(array.dtype).toBe("float16");
    const [rows, d] = array.shape;
    const bytes = readFileSync(join(dir, "metadata", npy.replace("img_emb", "metadata").replace(".npy", ".parquet")));
    const meta = (await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) })) as { image_path: string }[];
    for (let r = 0; r < rows; r++) out.push({ path: meta[r].image_path, vector: Float64Array.from((array.data as Float32Array).subarray(r * d, (r + 1) * d)) });
  }
  return out;
}

describe("a clip-retrieval layout folder", () => {
  let folder: string;
  beforeAll(() => {
    const data = tmp("data");
    for (const f of ["photo_500x375.jpg", "portrait_375x500.jpg", "gray_320x240.jpg", "large_1280x720.jpg", "alpha_300x200.png"])
      copyFileSync(fixturePath("images", f), join(data, f));
    copyFileSync(join(data, "photo_500x375.jpg"), join(data, "photo-copy.jpg"));
    folder = join(tmp("emb"), "emb");
    // parts of 4 rows: 6 images make two parts, so rows are numbered across them
    const run = runCli([
      "embed",
      "image",
      data,
      "--model",
      fixturePath("siglip-tiny"),
      "--out",
      folder,
      "--layout",
      "clip-retrieval",
      "--layout-rows",
      "4",
      "--no-progress",
    ]);
    expect(run.status, run.stderr).toBe(0);
    // what clip-retrieval's own inference leaves: the layout alone
    for (const f of ["embeddings.npy", "index.jsonl", "run.json", "metadata.parquet"]) rmSync(join(folder, f), { force: true });
    expect(readdirSync(join(folder, "img_emb"))).toHaveLength(2);
  });

  it("emb search --row ranks its float16 rows as brute force does, across parts", async () => {
    const rows = await layoutRows(folder);
    const norm = (v: Float64Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));
    for (const q of [1, 5]) {
      const query = rows[q].vector;
      const expected = rows
        .map((r, i) => ({ i, path: r.path, score: r.vector.reduce((a, x, d) => a + x * query[d], 0) / (norm(r.vector) * norm(query)) }))
        .sort((a, b) => b.score - a.score || a.i - b.i)
        .slice(0, 4);
      const run = runCli(["search", folder, "--row", String(q), "-k", "4", "--json"]);
      expect(run.status, run.stderr).toBe(0);
      const hits = JSON.parse(run.stdout).results[0].results as { row: number; path: string; score: number }[];
      expect(hits.map((h) => h.path)).toEqual(expected.map((e) => e.path));
      hits.forEach((h, i) => expect(h.score).toBeCloseTo(expected[i].score, 6));
    }
  });

  it("refuses a text query in words: the layout does not say which model made it", () => {
    const run = runCli(["search", folder, "--text", "a photo"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("has no run.json naming its model");
    expect(run.stderr).toContain("--row queries work");
  });

  it("emb dedup groups the planted copy: exact from emb's content hashes, near where the metadata has image_path alone", async () => {
    const groupsOf = () => {
      const run = runCli(["dedup", folder, "--threshold", "0.999", "--json", "--no-progress"]);
      expect(run.status, run.stderr).toBe(0);
      return JSON.parse(run.stdout).groups as { kind: string; members: { path: string }[] }[];
    };
    const names = (g: { members: { path: string }[] }) => g.members.map((m) => m.path.split("/").pop()).sort();
    // emb's own layout keeps its index fields (sha256 among them) in the metadata
    let groups = groupsOf();
    expect(groups.map((g) => [g.kind, names(g)])).toEqual([["exact", ["photo-copy.jpg", "photo_500x375.jpg"]]]);
    // clip-retrieval's inference writes image_path (and its own columns), no content hash
    for (const file of readdirSync(join(folder, "metadata"))) {
      const bytes = readFileSync(join(folder, "metadata", file));
      const rows = (await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) })) as { image_path: string }[];
      writeMetadataParquet(
        join(folder, "metadata", file),
        rows.map((r) => ({ path: r.image_path })),
        [{ name: "path", type: "STRING", column: "image_path" }],
      );
    }
    groups = groupsOf();
    expect(groups.map((g) => [g.kind, names(g)])).toEqual([["near", ["photo-copy.jpg", "photo_500x375.jpg"]]]);
  });
});
