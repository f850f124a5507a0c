import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetReadObjects } from "hyparquet";
import { beforeAll, describe, expect, it } from "vitest";
import { readJsonl } from "../../src/io/jsonl.js";
import { parseNpy } from "../../src/io/npy.js";
import { runCli } from "../helpers/cli.js";
import { fixturePath, maxAbsDiff, readJson } from "../helpers/fixtures.js";

const SIGLIP = fixturePath("siglip-tiny");
const FLORENCE = fixturePath("florence2-tiny");
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-merge-${name}-`));
const IMAGES = fixturePath("images");
const imageFiles = readdirSync(IMAGES)
  .filter((f) => f !== "manifest.json")
  .sort();

function embed(inputs: string[], out: string, ...flags: string[]) {
  const run = runCli(["embed", "image", ...inputs, "--model", SIGLIP, "--out", out, "--no-progress", "--batch-size", "4", ...flags]);
  expect(run.status, run.stderr).toBe(0);
  return out;
}

/** The merge's --json summary when it succeeds; its error on stderr (printed as users see it) when not. */
function merge(folders: string[], out: string, ...flags: string[]) {
  const run = runCli(["merge", ...folders, "--out", out, "--json", ...flags]);
  if (run.status === 0) return { ...run, json: JSON.parse(run.stdout) };
  return { ...runCli(["merge", ...folders, "--out", out, ...flags]), json: undefined };
}

const setRunField = (dir: string, fields: Record<string, unknown>) => {
  const path = join(dir, "run.json");
  writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, "utf8")), ...fields }));
};

const readNpy = (dir: string) => parseNpy(readFileSync(join(dir, "embeddings.npy")));

/** The index records, every field (the same files were embedded, so even mtimes agree). */
const index = (dir: string) => readJsonl<Record<string, unknown>>(join(dir, "index.jsonl"));

async function parquetRows(dir: string, file = "metadata.parquet"): Promise<Record<string, unknown>[]> {
  const bytes = readFileSync(join(dir, file));
  const rows = await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) });
  // INT64 columns come back as bigint; nulls (a field a record lacks) are dropped to compare with JSON.
  return rows.map((row) =>
    Object.fromEntries(
      Object.entries(row)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v]),
    ),
  );
}

describe("emb merge of emb embed image shards", () => {
  let whole: string;
  let shards: string[];
  beforeAll(() => {
    const root = tmp("embed");
    whole = embed([IMAGES], join(root, "whole"));
    // Three shards, each given its own files, as a hash split hands them out: not contiguous.
    shards = [0, 1, 2].map((s) =>
      embed(
        imageFiles.filter((_, i) => i % 3 === s).map((f) => join(IMAGES, f)),
        join(root, `shard-${s}`),
      ),
    );
  });

  it("equals a one-process run over all the images: same rows, same vectors, same order", () => {
    const out = join(tmp("out"), "merged");
    // Named in any order: the merged order is the input walk's, not the arguments'.
    const run = merge([shards[2], shards[0], shards[1]], out);
    expect(run.status, run.stderr).toBe(0);
    expect(run.json).toMatchObject({ status: "complete", rows: imageFiles.length, command: "embed image", errors: 0 });
    // Equal up to float rounding: the shards batch the images differently than the whole run.
    const merged = readNpy(out);
    const reference = readNpy(whole);
    expect(merged.shape).toEqual(reference.shape);
    expect(maxAbsDiff(merged.data as Float32Array, reference.data as Float32Array)).toBeLessThan(1e-6);
    expect(index(out)).toEqual(index(whole));
    const recorded = JSON.parse(readFileSync(join(out, "run.json"), "utf8"));
    expect(recorded.status).toBe("complete");
    expect(recorded.fingerprint).toEqual(JSON.parse(readFileSync(join(whole, "run.json"), "utf8")).fingerprint);
    expect(recorded.merged.map((m: { dir: string; rows: number }) => [m.dir, m.rows])).toEqual([
      [shards[2], imageFiles.filter((_, i) => i % 3 === 2).length],
      [shards[0], imageFiles.filter((_, i) => i % 3 === 0).length],
      [shards[1], imageFiles.filter((_, i) => i % 3 === 1).length],
    ]);
    expect(readdirSync(join(out, ".."))).toEqual(["merged"]); // no temporary folder left
  });

  it("orders as the walk does where sorting whole paths would not (a/1.jpg before a-b.jpg)", () => {
    const root = tmp("walk-order");
    const names = ["B.jpg", "a/1.jpg", "a-b.jpg", "a.jpg", "ab/2.jpg"]; // the walk's order, hand-worked
    for (const [i, name] of names.entries()) {
      mkdirSync(join(root, "photos", name, ".."), { recursive: true });
      copyFileSync(join(IMAGES, imageFiles[i]), join(root, "photos", name));
    }
    const whole = embed([join(root, "photos")], join(root, "whole"));
    expect(index(whole).map((r) => r.path)).toEqual(names.map((n) => join(root, "photos", n)));
    const shards = [names.slice(0, 2), names.slice(2)].map((part, s) =>
      embed(
        part.reverse().map((n) => join(root, "photos", n)),
        join(root, `s${s}`),
      ),
    );
    expect(merge(shards, join(root, "merged")).status).toBe(0);
    expect(index(join(root, "merged"))).toEqual(index(whole));
  });

  it("writes metadata.parquet equal to index.jsonl, for runs and merges", async () => {
    const out = join(tmp("out"), "merged");
    expect(merge(shards, out).status).toBe(0);
    for (const dir of [whole, out, shards[1]]) expect(await parquetRows(dir)).toEqual(index(dir));
    const text = join(tmp("text"), "emb");
    const run = runCli(["embed", "text", "a photo of a cat", "A dog!", "", "--model", SIGLIP, "--out", text, "--no-progress"]);
    expect(run.status, run.stderr).toBe(0);
    expect((await parquetRows(text)).map((r) => r.text)).toEqual(["a photo of a cat", "A dog!", ""]);
    expect(await parquetRows(text)).toEqual(index(text));
  });

  it("the merged folder resumes like a run's: the same command embeds nothing", () => {
    const out = join(tmp("out"), "merged");
    expect(merge(shards, out).status).toBe(0);
    const run = runCli(["embed", "image", IMAGES, "--model", SIGLIP, "--out", out, "--no-progress", "--json"]);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ embedded: 0, unchanged: imageFiles.length });
  });

  it("refuses folders made with other settings, naming the folder and the differing key", () => {
    const other = embed([join(IMAGES, imageFiles[0])], join(tmp("other"), "normalized"), "--normalize");
    const run = merge([shards[0], other], join(tmp("out"), "merged"));
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`${other} was made with other settings than ${shards[0]}`);
    expect(run.stderr).toMatch(/normalize true there, false in/);
  });

  it("keeps an input found identical in two shards once, and refuses one with two contents", () => {
    const overlap = embed([join(IMAGES, imageFiles[0])], join(tmp("overlap"), "o"));
    const kept = merge([...shards, overlap], join(tmp("out"), "merged"));
    expect(kept.status, kept.stderr).toBe(0);
    expect(kept.json.rows).toBe(imageFiles.length);

    const dir = tmp("changed");
    const path = join(dir, "photo.jpg");
    copyFileSync(join(IMAGES, imageFiles[0]), path);
    const before = embed([path], join(dir, "a"));
    copyFileSync(join(IMAGES, imageFiles[1]), path);
    const after = embed([path], join(dir, "b"));
    const run = merge([before, after], join(dir, "merged"));
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`1 input(s) are in more than one folder with different content: ${path} (in ${before} and ${after})`);
    expect(existsSync(join(dir, "merged"))).toBe(false);
  });

  it("refuses an unfinished shard and a missing one unless --allow-partial", () => {
    const root = tmp("partial");
    const copies = shards.map((s, i) => {
      cpSync(s, join(root, `s${i}`), { recursive: true });
      setRunField(join(root, `s${i}`), { shard: { index: i, count: 4 } });
      return join(root, `s${i}`);
    });
    setRunField(copies[1], { status: "running" }); // what a killed run leaves
    const refused = merge(copies, join(root, "merged"));
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(`unfinished: ${copies[1]} (run.json status "running")`);
    expect(existsSync(join(root, "merged"))).toBe(false);

    setRunField(copies[1], { status: "complete" });
    const missing = merge(copies, join(root, "merged"));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("shard(s) 3/4 of 4 are not among the folders given");

    setRunField(copies[1], { status: "interrupted" });
    const allowed = merge(copies, join(root, "merged"), "--allow-partial");
    expect(allowed.status, allowed.stderr).toBe(0);
    expect(allowed.json).toMatchObject({ status: "partial", missingShards: ["3/4"], rows: imageFiles.length });
    expect(JSON.parse(readFileSync(join(root, "merged", "run.json"), "utf8")).status).toBe("partial");
    // A partial merge is itself unfinished: merging it again needs --allow-partial too.
    expect(merge([join(root, "merged")], join(root, "again")).stderr).toContain("unfinished");
  });

  it("never merges into a folder that holds files", () => {
    const out = tmp("full");
    writeFileSync(join(out, "notes.txt"), "mine");
    const run = merge(shards, out);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`--out ${out} already holds files`);
    expect(readdirSync(out)).toEqual(["notes.txt"]);
  });
});

describe("--layout clip-retrieval", () => {
  /** The parts as clip-retrieval's index step reads them: file name order, concatenated; each part's header dtype checked. */
  async function readLayout(dir: string, folder = "img_emb") {
    const parts = readdirSync(join(dir, folder)).sort();
    const tables = readdirSync(join(dir, "metadata")).sort();
    const files = parts.map((p) => readFileSync(join(dir, folder, p)));
    // The header as numpy and clip-retrieval read it, not only as our parser decodes it.
    for (const bytes of files) expect(bytes.subarray(0, 128).toString("latin1")).toContain("'descr': '<f2'");
    const vectors = files.map((bytes) => parseNpy(bytes));
    const rows: Record<string, unknown>[] = [];
    for (const t of tables) rows.push(...(await parquetRows(join(dir, "metadata"), t)));
    const data = new Float32Array(vectors.reduce((n, v) => n + v.data.length, 0));
    let at = 0;
    for (const v of vectors) {
      data.set(v.data as Float32Array, at);
      at += v.data.length;
    }
    return { parts, tables, data, dim: vectors[0].shape[1], rows };
  }
  const asClipRetrieval = (records: Record<string, unknown>[]) => records.map(({ path, ...rest }) => ({ image_path: path, ...rest }));

  /**
   * The layout's rows are `embeddings`' rows L2-normalised (worked here in float64) and rounded
   * to float16: each value within half a float16 step (2^-11 relative, 2^-25 absolute below the
   * normal range) of the normalised one, give or take `slack` (another run's batches round the
   * float32 rows differently, by ~1e-6), and each row of norm 1 within float16 precision.
   */
  function expectNormalisedHalves(layout: Float32Array, dim: number, embeddings: Float32Array, slack = 0) {
    expect(layout.length).toBe(embeddings.length);
    let worst = 0;
    let rounded = 0;
    for (let r = 0; r < embeddings.length / dim; r++) {
      const row = embeddings.subarray(r * dim, (r + 1) * dim);
      const norm = Math.sqrt(row.reduce((sum, v) => sum + v * v, 0));
      expect(norm).toBeGreaterThan(1.5); // unnormalised SigLIP output: the layout must not pass it through
      let squares = 0;
      for (let i = 0; i < dim; i++) {
        const got = layout[r * dim + i];
        const want = row[i] / norm;
        worst = Math.max(worst, (Math.abs(got - want) - slack) / Math.max(Math.abs(want), 2 ** -14));
        rounded = Math.max(rounded, Math.abs(got - want));
        squares += got * got;
      }
      expect(Math.abs(Math.sqrt(squares) - 1), `row ${r} norm`).toBeLessThan(2 ** -10);
    }
    expect(worst).toBeLessThanOrEqual(2 ** -11 * 1.001);
    // Some rounding happened: the rows really are float16, not float32 that happens to be labelled so.
    expect(rounded).toBeGreaterThan(1e-5);
  }

  it("writes clip-retrieval's rows: float16, L2-normalised, equal to the default layout's embeddings normalised", async () => {
    const root = tmp("layout-values");
    const plain = embed([IMAGES], join(root, "plain"));
    const laid = embed([IMAGES], join(root, "laid"), "--layout", "clip-retrieval");
    const layout = await readLayout(laid);
    expect(layout.dim).toBe(readNpy(plain).shape[1]);
    // The two runs may batch differently (dynamic batching on a loaded machine): equal within 1e-5.
    const BATCH_NOISE = 1e-5;
    expectNormalisedHalves(layout.data, layout.dim, readNpy(plain).data as Float32Array, BATCH_NOISE);
    // embeddings.npy itself stays as --normalize asks (here: not), float32.
    expect(readNpy(laid).dtype).toBe("float32");
    expect(maxAbsDiff(readNpy(laid).data as Float32Array, readNpy(plain).data as Float32Array)).toBeLessThan(BATCH_NOISE);

    const captions = ["a photo of a cat", "two dogs on a beach", "A RED CAR!"];
    const text = (out: string, ...flags: string[]) => {
      const run = runCli(["embed", "text", ...captions, "--model", SIGLIP, "--out", out, "--no-progress", ...flags]);
      expect(run.status, run.stderr).toBe(0);
      return out;
    };
    const plainText = text(join(root, "plain-text"));
    const laidText = text(join(root, "laid-text"), "--layout", "clip-retrieval");
    const textLayout = await readLayout(laidText, "text_emb");
    expectNormalisedHalves(textLayout.data, textLayout.dim, readNpy(plainText).data as Float32Array, BATCH_NOISE);
    expect(textLayout.rows.map((r) => r.caption)).toEqual(captions);
  });

  it("writes img_emb/ and metadata/ parts of embeddings.npy and index.jsonl; a resumed run rewrites them", async () => {
    const out = join(tmp("layout"), "emb");
    embed([IMAGES], out, "--layout", "clip-retrieval", "--layout-rows", "4");
    let layout = await readLayout(out);
    expect(layout.parts).toEqual(["img_emb_0.npy", "img_emb_1.npy", "img_emb_2.npy", "img_emb_3.npy"]);
    expect(layout.tables).toEqual(["metadata_0.parquet", "metadata_1.parquet", "metadata_2.parquet", "metadata_3.parquet"]);
    expectNormalisedHalves(layout.data, layout.dim, readNpy(out).data as Float32Array);
    expect(layout.rows).toEqual(asClipRetrieval(index(out)));
    expect(Object.keys(layout.rows[0])[0]).toBe("image_path");

    // Resumed with another part size: nothing is embedded, the parts are rewritten, none left over.
    const run = runCli([
      "embed",
      "image",
      IMAGES,
      "--model",
      SIGLIP,
      "--out",
      out,
      "--no-progress",
      "--json",
      "--layout",
      "clip-retrieval",
      "--layout-rows",
      "10",
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ embedded: 0 });
    layout = await readLayout(out);
    expect(layout.parts).toEqual(["img_emb_0.npy", "img_emb_1.npy"]);
    expect(layout.tables).toEqual(["metadata_0.parquet", "metadata_1.parquet"]);
    expectNormalisedHalves(layout.data, layout.dim, readNpy(out).data as Float32Array);
    expect(layout.rows).toEqual(asClipRetrieval(index(out)));
  });

  it("emb merge --layout clip-retrieval writes the merged folder's parts, float16 and normalised too", async () => {
    const root = tmp("layout-merge");
    const shards = [0, 1].map((s) =>
      embed(
        imageFiles.filter((_, i) => i % 2 === s).map((f) => join(IMAGES, f)),
        join(root, `s${s}`),
      ),
    );
    const run = merge(shards, join(root, "merged"), "--layout", "clip-retrieval", "--layout-rows", "100");
    expect(run.status, run.stderr).toBe(0);
    const layout = await readLayout(join(root, "merged"));
    expect(layout.parts).toEqual(["img_emb_0.npy"]);
    expect(readNpy(join(root, "merged")).dtype).toBe("float32");
    expectNormalisedHalves(layout.data, layout.dim, readNpy(join(root, "merged")).data as Float32Array);
    expect(layout.rows).toEqual(asClipRetrieval(index(join(root, "merged"))));
  });
});

describe("emb merge of emb florence shards", () => {
  it("equals a one-process run's results.jsonl", () => {
    const root = tmp("florence");
    const files = imageFiles.slice(0, 4).map((f) => join(IMAGES, f));
    const florence = (inputs: string[], out: string) => {
      const run = runCli(["florence", "<CAPTION>", ...inputs, "--model", FLORENCE, "--max-new-tokens", "8", "--num-beams", "1", "--out", out, "--no-progress"]);
      expect(run.status, run.stderr).toBe(0);
      return out;
    };
    const whole = florence(files, join(root, "whole"));
    const shards = [florence([files[1], files[3]], join(root, "a")), florence([files[2], files[0]], join(root, "b"))];
    const run = merge(shards, join(root, "merged"));
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(join(root, "merged", "results.jsonl"), "utf8")).toBe(readFileSync(join(whole, "results.jsonl"), "utf8"));
    const layout = merge(shards, join(root, "with-layout"), "--layout", "clip-retrieval");
    expect(layout.status).toBe(2);
    expect(layout.stderr).toContain("--layout clip-retrieval lays out embedding folders only");
    expect(existsSync(join(root, "with-layout"))).toBe(false);
  });
});

describe("evaluations read shard folders as one", () => {
  it("emb knn eval --embeddings on shard folders equals it on the merged folder", () => {
    const golden = readJson<{ layout: Record<"train" | "valid", Record<string, string[]>> }>("goldens", "knn", "folder.json");
    const data = tmp("knn-data");
    for (const [split, classes] of Object.entries(golden.layout)) {
      for (const [label, files] of Object.entries(classes)) {
        mkdirSync(join(data, split, label), { recursive: true });
        for (const file of files) copyFileSync(fixturePath("images", file), join(data, split, label, file));
      }
    }
    const root = tmp("knn");
    const shards = [embed([join(data, "train")], join(root, "train")), embed([join(data, "valid")], join(root, "valid"))];
    expect(merge(shards, join(root, "merged")).status).toBe(0);
    const knn = (embeddings: string[]) => {
      const out = tmp("knn-out");
      const cache = tmp("knn-cache");
      const run = runCli([
        "knn",
        "eval",
        "--data",
        data,
        "--shots",
        "2",
        "-k",
        "3",
        "--exact",
        "--model",
        SIGLIP,
        "--cache-dir",
        cache,
        "--out",
        out,
        "--no-progress",
        "--json",
        ...embeddings.flatMap((e) => ["--embeddings", e]),
      ]);
      expect(run.status, run.stderr).toBe(0);
      return { report: JSON.parse(run.stdout), predictions: readFileSync(join(out, "predictions.jsonl"), "utf8") };
    };
    const fromShards = knn(shards);
    const fromMerged = knn([join(root, "merged")]);
    expect(fromShards.report.methods).toEqual(fromMerged.report.methods);
    expect(fromShards.predictions).toBe(fromMerged.predictions);
    // Every image's vector came from the folders: none was embedded again.
    for (const { report } of [fromShards, fromMerged]) {
      expect(report.images).toMatchObject({ fromEmbeddingsFolder: report.images.train + report.images.valid, embedded: 0, failed: 0 });
    }
  });

  it("emb coco eval --results on shard results equals it on the merged results and the whole file", () => {
    const annotations = fixturePath("coco", "captions_test.json");
    const entries = JSON.parse(readFileSync(fixturePath("coco", "results_test.json"), "utf8")) as { image_id: number; caption: string }[];
    const root = tmp("coco");
    const shardFiles = [0, 1].map((s) => {
      const path = join(root, `shard-${s}.json`);
      // the second shard repeats one identical entry: kept once
      writeFileSync(path, JSON.stringify(entries.filter((_, i) => i % 2 === s || (s === 1 && i === 0))));
      return path;
    });
    expect(merge(shardFiles, join(root, "merged")).status).toBe(0);
    const score = (results: string[]) => {
      const run = runCli([
        "coco",
        "eval",
        "--annotations",
        annotations,
        "--out",
        tmp("coco-out"),
        "--no-progress",
        "--bootstrap",
        "0",
        "--no-paraphrase",
        "--json",
        ...results.flatMap((r) => ["--results", r]),
      ]);
      expect(run.status, run.stderr).toBe(0);
      return JSON.parse(run.stdout).metrics;
    };
    const whole = score([fixturePath("coco", "results_test.json")]);
    expect(score(shardFiles)).toEqual(whole);
    expect(score([join(root, "merged")])).toEqual(whole);

    const conflicting = join(root, "conflict.json");
    writeFileSync(conflicting, JSON.stringify([{ ...entries[0], caption: "something else" }]));
    const run = runCli([
      "coco",
      "eval",
      "--annotations",
      annotations,
      "--results",
      shardFiles[0],
      "--results",
      conflicting,
      "--out",
      tmp("coco-out"),
      "--no-progress",
    ]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(
      `image ids with different captions in different results files: ${entries[0].image_id} (in ${shardFiles[0]} and ${conflicting})`,
    );
  });
});
