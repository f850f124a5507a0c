/**
 * emb dedup on planted duplicates: the fixture photos plus byte-for-byte copies, resized,
 * re-encoded and cropped copies, embedded by the tiny SigLIP. Its groups must equal a reference
 * computed here by brute force on the folder's own vectors (union of same-content files and of
 * pairs at or above the threshold, in double precision), its keep choice the largest image, and
 * its drop list one path per line.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { loadHnsw } from "../../src/eval/knn/search.js";
import { readJsonl } from "../../src/io/jsonl.js";
import { parseNpy } from "../../src/io/npy.js";
import { runCli } from "../helpers/cli.js";
import { fixturePath } from "../helpers/fixtures.js";

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-dedup-${name}-`));
const PHOTOS = ["photo_500x375.jpg", "portrait_375x500.jpg", "large_1280x720.jpg", "photo_320x240.webp", "gray_320x240.jpg"];

interface Record_ {
  row: number;
  path: string;
  sha256: string;
  width: number;
  height: number;
  bytes: number;
}

/** Groups (sorted lists of paths) by brute force: same sha256, or cosine >= threshold, joined transitively. */
function referenceGroups(dir: string, threshold: number): string[][] {
  const npy = parseNpy(readFileSync(join(dir, "embeddings.npy")));
  const d = npy.shape[1];
  const records = readJsonl<Record_>(join(dir, "index.jsonl"));
  const unit = records.map((r) => {
    const v = Array.from((npy.data as Float32Array).subarray(r.row * d, (r.row + 1) * d));
    const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
    return v.map((x) => x / norm);
  });
  const label = records.map((_, i) => i);
  const relabel = (from: number, to: number) => label.forEach((l, i) => l === from && (label[i] = to));
  for (let i = 0; i < records.length; i++) {
    for (let j = i + 1; j < records.length; j++) {
      const cos = unit[i].reduce((a, x, k) => a + x * unit[j][k], 0);
      if (records[i].sha256 === records[j].sha256 || cos >= threshold) relabel(Math.max(label[i], label[j]), Math.min(label[i], label[j]));
    }
  }
  const groups = new Map<number, string[]>();
  records.forEach((r, i) => groups.set(label[i], [...(groups.get(label[i]) ?? []), r.path]));
  return [...groups.values()].filter((g) => g.length > 1).map((g) => g.sort());
}

describe("emb dedup", () => {
  let folder: string;
  let images: string;
  beforeAll(async () => {
    images = tmp("images");
    mkdirSync(join(images, "copies"));
    for (const name of PHOTOS) {
      const source = fixturePath("images", name);
      copyFileSync(source, join(images, name));
      const stem = name.replace(/\.\w+$/, "");
      copyFileSync(source, join(images, "copies", `${stem}-same${name.slice(name.lastIndexOf("."))}`));
      const meta = await sharp(source).metadata();
      await sharp(source)
        .resize(Math.round((meta.width ?? 2) / 2))
        .jpeg({ quality: 90 })
        .toFile(join(images, "copies", `${stem}-half.jpg`));
      await sharp(source)
        .jpeg({ quality: 40 })
        .toFile(join(images, "copies", `${stem}-q40.jpg`));
    }
    for (const name of ["small_64x48.jpg", "palette_200x200.gif", "alpha_300x200.png"]) copyFileSync(fixturePath("images", name), join(images, name));
    folder = join(tmp("emb"), "emb");
    const run = runCli(["embed", "image", images, "--model", fixturePath("siglip-tiny"), "--out", folder, "--no-progress"]);
    expect(run.status, run.stderr).toBe(0);
  });

  it.each([0.9999, 0.999, 0.99])("finds the groups brute force finds at threshold %s", (threshold) => {
    const run = runCli(["dedup", folder, "--threshold", String(threshold), "--json"]);
    expect(run.status, run.stderr).toBe(0);
    const outcome = JSON.parse(run.stdout);
    const got = outcome.groups.map((g: { members: { path: string }[] }) => g.members.map((m) => m.path).sort());
    const expected = referenceGroups(folder, threshold);
    const key = (groups: string[][]) => groups.map((g) => g.join("|")).sort();
    expect(key(got)).toEqual(key(expected));
    // every byte-for-byte copy is grouped with its original whatever the threshold
    for (const name of PHOTOS) {
      const stem = name.replace(/\.\w+$/, "");
      expect(got.some((g: string[]) => g.some((p) => p.endsWith(`/${name}`)) && g.some((p) => p.includes(`${stem}-same`)))).toBe(true);
    }
  });

  it("keeps the file with the most pixels, marks all-same-content groups exact, and writes a drop list", () => {
    const out = tmp("report");
    const run = runCli(["dedup", folder, "--threshold", "1", "--out", out, "--json"]);
    expect(run.status, run.stderr).toBe(0);
    const outcome = JSON.parse(run.stdout);
    for (const g of outcome.groups) {
      const pixels = g.members.map((m: Record_) => m.width * m.height);
      expect(pixels[0]).toBe(Math.max(...pixels));
      expect(g.keep).toBe(g.members[0].path);
      if (new Set(g.members.map((m: Record_) => m.sha256)).size === 1) expect(g.kind).toBe("exact");
    }
    expect(outcome.groups.filter((g: { kind: string }) => g.kind === "exact").length).toBeGreaterThanOrEqual(PHOTOS.length);
    const drop = readFileSync(join(out, "drop.txt"), "utf8").trim().split("\n");
    expect(drop).toEqual(outcome.groups.flatMap((g: { drop: string[] }) => g.drop));
    expect(readJsonl(join(out, "groups.jsonl"))).toEqual(outcome.groups);
  });

  it.skipIf(!("module" in loadHnsw()))("finds the same groups through the HNSW graph as by exact search (--index hnsw)", () => {
    for (const threshold of ["0.999", "0.99"]) {
      const exact = runCli(["dedup", folder, "--threshold", threshold, "--index", "exact", "--json"]);
      const hnsw = runCli(["dedup", folder, "--threshold", threshold, "--index", "hnsw", "--json"]);
      expect(hnsw.status, hnsw.stderr).toBe(0);
      const [e, h] = [JSON.parse(exact.stdout), JSON.parse(hnsw.stdout)];
      expect([e.index, h.index]).toEqual(["exact", "hnsw"]);
      expect(h.groups).toEqual(e.groups);
    }
    // the second run read the graph the first built (emb search builds the same one); without
    // --json, stderr also has the search's progress
    const again = runCli(["dedup", folder, "--index", "hnsw"]);
    expect(again.stderr).toContain("reusing the HNSW index");
    expect(again.stderr).toMatch(/finding near-duplicates: (\d+)\/\1 rows \(100\.0%\).*done in/);
  });

  it("says in --help that HNSW may miss pairs and that exact is the default", () => {
    const help = runCli(["dedup", "--help"]).stdout.replace(/\s+/g, " ");
    expect(help).toContain("may miss near-duplicate pairs");
    expect(help).toMatch(/--index=<option>.*\[default: exact\]/);
  });

  it("refuses a threshold outside (0, 1] and a keep rule it does not know", () => {
    let run = runCli(["dedup", folder, "--threshold", "1.5"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("--threshold 1.5");
    run = runCli(["dedup", folder, "--threshold", "abc"]);
    expect(run.status).toBe(2);
    run = runCli(["dedup", folder, "--keep", "newest"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("largest");
  });
});
