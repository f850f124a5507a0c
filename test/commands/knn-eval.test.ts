import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { fixturePath, readJson } from "../helpers/fixtures.js";
import { loadHnsw } from "../../src/eval/knn/search.js";

const TINY = fixturePath("siglip-tiny");
/** hnswlib-node is optional (it needs a C++ toolchain to install); without it HNSW runs fall back to exact search. */
const hnswAvailable = "module" in loadHnsw();

interface Scored {
  k: number;
  predict: string[];
  top1: number;
  top5: number;
}
interface FolderGolden {
  layout: Record<"train" | "valid", Record<string, string[]>>;
  template: string;
  few_shot: Record<string, Scored>;
  zero_shot: Record<string, Scored>;
}
const golden = readJson<FolderGolden>("goldens", "knn", "folder.json");

/** The golden's valid images, in the order sklearn saw them: file name -> label. */
const validOrder = Object.keys(golden.layout.valid)
  .sort()
  .flatMap((label) => golden.layout.valid[label].map((file) => ({ file, label })));

function makeDataset(root: string): void {
  for (const [split, classes] of Object.entries(golden.layout)) {
    for (const [label, files] of Object.entries(classes)) {
      mkdirSync(join(root, split, label), { recursive: true });
      for (const file of files) copyFileSync(fixturePath("images", file), join(root, split, label, file));
    }
  }
}

function knn(args: string[], cache: string) {
  const out = mkdtempSync(join(tmpdir(), "emb-knn-out-"));
  const result = runCli(["knn", "eval", "--model", TINY, "--cache-dir", cache, "--out", out, "--no-progress", "--json", ...args]);
  return { ...result, out, json: result.stdout ? JSON.parse(result.stdout) : undefined };
}

/** Each valid image's predicted label, by file name. */
function predictionsOf(out: string, method: string): Map<string, string> {
  const rows = readFileSync(join(out, "predictions.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  return new Map(rows.filter((r) => r.method === method).map((r) => [basename(r.path), r.predicted]));
}

describe("emb knn eval on a folder dataset with the tiny SigLIP", () => {
  let data: string;
  let cache: string;
  beforeAll(() => {
    data = mkdtempSync(join(tmpdir(), "emb-knn-data-"));
    cache = mkdtempSync(join(tmpdir(), "emb-knn-cache-"));
    makeDataset(data);
  });

  for (const weights of ["distance", "uniform"]) {
    for (const search of ["exact", "hnsw"]) {
      it(`equals scikit-learn on PyTorch's embeddings: few-shot and zero-shot, ${weights} weights, ${search} search`, () => {
        const run = knn(["--data", data, "--zero-shot", "--shots", "3", "-k", "5", "--weights", weights, ...(search === "exact" ? ["--exact"] : [])], cache);
        expect(run.status, run.stderr).toBe(0);
        const [fewShot, zeroShot] = run.json.methods;
        expect(fewShot).toMatchObject({ method: "3-shot", k: golden.few_shot[weights].k, search: hnswAvailable ? search : "exact" });
        if (search === "hnsw" && !hnswAvailable) expect(run.json.notes.filter((n: string) => n.startsWith("HNSW search unavailable"))).toHaveLength(1);
        expect(fewShot.top1).toBeCloseTo(golden.few_shot[weights].top1, 12);
        expect(fewShot.top5).toBeCloseTo(golden.few_shot[weights].top5, 12);
        // Three classes, one text vector each: k comes down to 3, as the golden used.
        expect(zeroShot).toMatchObject({ method: "zero-shot", k: golden.zero_shot[weights].k, template: golden.template });
        expect(zeroShot.top1).toBeCloseTo(golden.zero_shot[weights].top1, 12);
        expect(run.json.notes).toContain("zero-shot: k lowered from 5 to 3, the number of references");
        for (const [method, expected] of [
          ["3-shot", golden.few_shot[weights]],
          ["zero-shot", golden.zero_shot[weights]],
        ] as const) {
          const predicted = predictionsOf(run.out, method);
          validOrder.forEach(({ file }, i) => expect(predicted.get(file), `${method} ${file}`).toBe(expected.predict[i]));
        }
      });
    }
  }

  it("embeds each image once: later runs with another k or weighting read the cache", () => {
    const first = knn(["--data", data, "--shots", "3", "-k", "2"], cache);
    expect(first.status, first.stderr).toBe(0);
    expect(first.json.images).toMatchObject({ embedded: 0, fromCache: 15, train: 9, valid: 6 });
    expect(first.json.methods.map((m: { method: string }) => m.method)).toEqual(["3-shot"]);
  });

  it("writes per-class accuracy as CSV, one row per method and class", () => {
    const run = knn(["--data", data, "--zero-shot", "--shots", "3", "-k", "5", "--exact"], cache);
    const csv = readFileSync(join(run.out, "per-class.csv"), "utf8").trim().split("\n");
    expect(csv[0]).toBe("method,template,label,name,queries,top1,top5");
    expect(csv).toHaveLength(1 + 2 * 3);
    expect(csv[1]).toMatch(/^3-shot,,n01440764,"tench, Tinca tinca",2,/);
    const perClass = run.json.methods[0].perClass;
    const overall = perClass.reduce((s: number, c: { top1: number; queries: number }) => s + c.top1 * c.queries, 0) / 6;
    expect(overall).toBeCloseTo(golden.few_shot.distance.top1, 12);
  });

  it("takes image embeddings from an emb embed image folder without loading a model", () => {
    const embedded = mkdtempSync(join(tmpdir(), "emb-knn-embeddings-"));
    const embed = runCli(["embed", "image", data, "--model", TINY, "--out", embedded, "--no-progress", "--json"]);
    expect(embed.status, embed.stderr).toBe(0);
    const empty = mkdtempSync(join(tmpdir(), "emb-knn-cache-"));
    const run = runCli([
      ...["knn", "eval", "--data", data, "--shots", "3", "-k", "5", "--weights", "uniform", "--exact", "--embeddings", embedded],
      ...["--model", "/nonexistent/model", "--cache-dir", empty, "--out", join(empty, "out"), "--no-progress", "--json"],
    ]);
    expect(run.status, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout);
    expect(json.images).toMatchObject({ fromEmbeddingsFolder: 15, embedded: 0 });
    expect(json.methods[0].top1).toBeCloseTo(golden.few_shot.uniform.top1, 12);
  });
});

describe("emb knn eval with bad input", () => {
  let data: string;
  let cache: string;
  beforeAll(() => {
    data = mkdtempSync(join(tmpdir(), "emb-knn-bad-"));
    cache = mkdtempSync(join(tmpdir(), "emb-knn-cache-"));
    makeDataset(data);
    // A corrupt image, a valid class with no train folder, an empty train class.
    writeFileSync(join(data, "valid", "n01440764", "corrupt.jpg"), Buffer.from("not a jpeg at all"));
    cpSync(join(data, "valid", "n01443537"), join(data, "valid", "n01491361"), { recursive: true });
    mkdirSync(join(data, "train", "n01494475"));
  });

  it("reports unreadable images and classes it cannot score, and scores the rest", () => {
    const run = knn(["--data", data, "--zero-shot", "--shots", "3", "-k", "5", "--exact"], cache);
    expect(run.status, run.stderr).toBe(3);
    expect(run.json.failures).toEqual([expect.objectContaining({ path: join(data, "valid", "n01440764", "corrupt.jpg"), reason: "unreadable" })]);
    expect(run.json.notes).toEqual(
      expect.arrayContaining([
        "train classes with no images, not in the few-shot index: n01494475",
        "3-shot: valid classes with no reference, their images not scored: n01491361 (2)",
      ]),
    );
    const [fewShot, zeroShot] = run.json.methods;
    // The corrupt image and the class without references are left out of few-shot; zero-shot
    // names n01491361 from the ImageNet mapping and scores it, over five classes.
    expect(fewShot).toMatchObject({ queries: 6, classes: 3, excluded: [{ label: "n01491361", queries: 2 }] });
    expect(fewShot.top1).toBeCloseTo(golden.few_shot.distance.top1, 12);
    expect(zeroShot).toMatchObject({ queries: 8, classes: 5, excluded: [] });
  });

  it("names the layout when the valid folder is missing", () => {
    const empty = mkdtempSync(join(tmpdir(), "emb-knn-empty-"));
    const run = runCli(["knn", "eval", "--data", empty, "--model", TINY, "--cache-dir", cache, "--no-progress"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("the layout is <root>/train/<label>/* and <root>/valid/<label>/*");
  });

  it("lists the valid weightings and rejects a template without placeholders", () => {
    const weights = runCli(["knn", "eval", "--data", data, "--weights", "inverse"]);
    expect(weights.status).not.toBe(0);
    expect(weights.stderr).toMatch(/distance, uniform/);
    const template = runCli(["knn", "eval", "--data", data, "--zero-shot", "--template", "a photo"]);
    expect(template.status).toBe(2);
    expect(template.stderr).toContain('--template "a photo" has neither {text} nor {label}');
  });
});
