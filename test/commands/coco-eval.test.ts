import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { NO_TABLE_NOTE } from "../../src/eval/coco/meteor/find-paraphrase.js";
import { readJsonl } from "../../src/io/jsonl.js";
import { runCli } from "../helpers/cli.js";
import { fixturePath, readJson } from "../helpers/fixtures.js";

const ANNOTATIONS = fixturePath("coco", "captions_test.json");
const RESULTS = fixturePath("coco", "results_test.json");
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-coco-${name}-`));

const metrics = readJson<{ image_ids: number[]; corpus: Record<string, number>; per_image: Record<string, number[] | number[][]> }>(
  "goldens",
  "coco",
  "metrics.json",
);
const meteor = readJson<{ results: Record<string, { coco: { corpus: number; per_image: number[] } }> }>("goldens", "coco", "meteor.json");

function coco(args: string[]) {
  const out = tmp("out");
  const run = runCli(["coco", "eval", "--annotations", ANNOTATIONS, "--out", out, "--no-progress", "--bootstrap", "200", ...args]);
  return { ...run, out };
}

describe("emb coco eval --results", () => {
  it("scores a results file as pycocoevalcap does (METEOR as METEOR 1.5 without paraphrases)", () => {
    const run = coco(["--results", RESULTS, "--no-paraphrase", "--json"]);
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.images).toBe(metrics.image_ids.length);
    for (const name of ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L", "CIDEr"]) {
      expect(Math.abs(report.metrics[name] - metrics.corpus[name]), name).toBeLessThan(1e-6);
    }
    expect(Math.abs(report.metrics.METEOR - meteor.results.no_paraphrase.coco.corpus)).toBeLessThan(1e-9);
    // Without the paraphrase table METEOR is lower than pycocoevalcap's, by this much here.
    expect(metrics.corpus.METEOR - report.metrics.METEOR).toBeCloseTo(0.0094, 3);
    expect(report.meteor).toEqual({ paraphraseTable: null, paraphraseSource: "--no-paraphrase" });
    for (const [name, [low, high]] of Object.entries(report.intervals as Record<string, [number, number]>)) {
      expect(low <= report.metrics[name] && report.metrics[name] <= high, name).toBe(true);
    }
  });

  it("writes every image's scores, so the worst captions can be found", () => {
    const run = coco(["--results", RESULTS, "--no-paraphrase"]);
    expect(run.status, run.stderr).toBe(0);
    const rows = readJsonl<Record<string, number | string>>(join(run.out, "per-image.jsonl"));
    expect(rows.map((r) => r.image_id)).toEqual(metrics.image_ids);
    const cider = metrics.per_image.CIDEr as number[];
    rows.forEach((r, i) => {
      expect(Math.abs((r.CIDEr as number) - cider[i])).toBeLessThan(1e-6);
      expect(Math.abs((r.METEOR as number) - meteor.results.no_paraphrase.coco.per_image[i])).toBeLessThan(1e-9);
    });
    expect(run.stdout).toContain("CIDEr");
  });

  it("names the entries of a bad results file", () => {
    const entries = JSON.parse(readFileSync(RESULTS, "utf8")) as { image_id: number; caption: string }[];
    const dir = tmp("bad");
    const write = (name: string, content: unknown) => {
      const path = join(dir, name);
      writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
      return path;
    };
    const unknown = coco(["--results", write("unknown.json", [...entries, { image_id: 123456789, caption: "a cat" }])]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("image ids not in the annotations (or without captions there): 123456789");
    const duplicate = coco(["--results", write("dup.json", [...entries, entries[3]])]);
    expect(duplicate.stderr).toContain(`image ids given more than once: ${entries[3].image_id}`);
    const missing = coco(["--results", write("missing.json", entries.slice(2))]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain(`2 annotated image(s) have no result: ${entries[0].image_id}, ${entries[1].image_id}`);
    expect(missing.stderr).toContain("--allow-missing");
    const partial = coco(["--results", write("missing.json", entries.slice(2)), "--allow-missing", "--json"]);
    expect(partial.status, partial.stderr).toBe(0);
    expect(JSON.parse(partial.stdout).images).toBe(entries.length - 2);
    const malformed = coco(["--results", write("torn.json", JSON.stringify(entries).slice(0, 100))]);
    expect(malformed.status).toBe(2);
    expect(malformed.stderr).toMatch(/results file .*torn\.json is not valid JSON/);
    const shape = coco(["--results", write("shape.json", [{ image_id: entries[0].image_id, text: "x" }])]);
    expect(shape.stderr).toContain('entries at index 0 are not {"image_id", "caption": string}');
    const empty = coco([
      "--results",
      write(
        "empty.json",
        entries.map((e, i) => (i === 0 ? { ...e, caption: "  " } : e)),
      ),
    ]);
    expect(empty.status, empty.stderr).toBe(0);
    expect(empty.stderr).toContain(`note: image ${entries[0].image_id} has an empty caption`);
    // Many empty captions: one line with the count and the first, not one line each.
    const blanks = coco([
      "--results",
      write(
        "blanks.json",
        entries.map((e, i) => (i < 3 ? { ...e, caption: "" } : e)),
      ),
    ]);
    expect(blanks.status, blanks.stderr).toBe(0);
    expect(blanks.stderr).toContain(`note: 3 images have an empty caption; they are scored as empty; first: image ${entries[0].image_id}`);
    expect(blanks.stderr).not.toContain(`image ${entries[1].image_id}`);
  });

  it("checks the annotation file", () => {
    const path = join(tmp("ann"), "captions.json");
    writeFileSync(path, JSON.stringify({ images: [{ id: 1, file_name: "a.jpg" }], annotations: [{ image_id: 2, caption: "x" }] }));
    const run = runCli(["coco", "eval", "--annotations", path, "--results", RESULTS, "--no-progress"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('annotations name image ids not in "images": 2');
  });

  it("a usage error writes nothing: no --out folder is left behind", () => {
    const out = join(tmp("nothing"), "report");
    const missing = runCli(["coco", "eval", "--annotations", join(tmp("ann"), "none.json"), "--results", RESULTS, "--out", out, "--no-progress"]);
    expect(missing.status, missing.stderr).toBe(2);
    const badResults = join(tmp("res"), "results.json");
    writeFileSync(badResults, "[{");
    const torn = runCli(["coco", "eval", "--annotations", ANNOTATIONS, "--results", badResults, "--out", out, "--no-progress"]);
    expect(torn.status, torn.stderr).toBe(2);
    expect(existsSync(out)).toBe(false);
  });
});

describe("emb coco eval finds METEOR's paraphrase table", () => {
  const tiny = readJson<{ tiny_paraphrase_table: [number, string, string][] }>("goldens", "coco", "meteor.json").tiny_paraphrase_table;
  const tinyText = tiny.map(([p, a, b]) => `${p}\n${a}\n${b}\n`).join("");
  /** A fake Python prefix with pycocoevalcap's paraphrase-en.gz (the small table of the goldens). */
  function fakePrefix(text = tinyText): { prefix: string; table: string } {
    const prefix = tmp("venv");
    const data = join(prefix, "lib", "python3.11", "site-packages", "pycocoevalcap", "meteor", "data");
    mkdirSync(data, { recursive: true });
    const table = join(data, "paraphrase-en.gz");
    writeFileSync(table, gzipSync(Buffer.from(text, "utf8")));
    return { prefix, table };
  }
  // Nothing of the machine's: no table named, none in the environment.
  const clean = { EMB_METEOR_PARAPHRASE: "", VIRTUAL_ENV: "", CONDA_PREFIX: "" };
  const score = (args: string[], env: Record<string, string>) => {
    const out = tmp("out");
    const run = runCli(
      ["coco", "eval", "--annotations", ANNOTATIONS, "--results", RESULTS, "--out", out, "--metrics", "meteor", "--bootstrap", "0", "--no-progress", ...args],
      { ...clean, ...env },
    );
    expect(run.status, run.stderr).toBe(0);
    return { run, out };
  };
  const tinyCorpus = meteor.results.tiny_table.coco.corpus;

  it("in the pycocoevalcap of $VIRTUAL_ENV; the report names it", () => {
    const { prefix, table } = fakePrefix();
    const { run, out } = score(["--json"], { VIRTUAL_ENV: prefix });
    const report = JSON.parse(run.stdout);
    expect(report.meteor).toEqual({ paraphraseTable: table, paraphraseSource: "pycocoevalcap" });
    expect(Math.abs(report.metrics.METEOR - tinyCorpus)).toBeLessThan(1e-9);
    expect(JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")).meteor).toEqual(report.meteor);
    // The table line of the human output.
    const human = score([], { VIRTUAL_ENV: prefix });
    expect(human.run.stdout).toContain(`METEOR paraphrase table: ${table} (from pycocoevalcap)`);
  });

  it("at $EMB_METEOR_PARAPHRASE, before $VIRTUAL_ENV's; --paraphrase-table before both", () => {
    const venv = fakePrefix("0.5\nsomething else\nentirely\n");
    const { table } = fakePrefix();
    const env = { VIRTUAL_ENV: venv.prefix, EMB_METEOR_PARAPHRASE: table };
    const fromEnv = JSON.parse(score(["--json"], env).run.stdout);
    expect(fromEnv.meteor).toEqual({ paraphraseTable: table, paraphraseSource: "EMB_METEOR_PARAPHRASE" });
    expect(Math.abs(fromEnv.metrics.METEOR - tinyCorpus)).toBeLessThan(1e-9);
    const fromFlag = JSON.parse(score(["--paraphrase-table", venv.table, "--json"], env).run.stdout);
    expect(fromFlag.meteor).toEqual({ paraphraseTable: venv.table, paraphraseSource: "--paraphrase-table" });
  });

  it("--no-paraphrase turns it off", () => {
    const { prefix, table } = fakePrefix();
    const { run } = score(["--no-paraphrase", "--json"], { VIRTUAL_ENV: prefix, EMB_METEOR_PARAPHRASE: table });
    const report = JSON.parse(run.stdout);
    expect(report.meteor).toEqual({ paraphraseTable: null, paraphraseSource: "--no-paraphrase" });
    expect(Math.abs(report.metrics.METEOR - meteor.results.no_paraphrase.coco.corpus)).toBeLessThan(1e-9);
  });

  it("without a table, warns on stderr and keeps stdout for the scores", () => {
    // No Python to ask and no home to look in: only a pycocoevalcap installed under /usr is found.
    const { run, out } = score([], { HOME: tmp("home"), PATH: tmp("path") });
    expect(JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")).meteor.paraphraseSource, "a pycocoevalcap is installed under /usr").toBe("not found");
    expect(run.stderr).toContain(`Warning: ${NO_TABLE_NOTE}`);
    expect(run.stdout).not.toContain("paraphrase table");
    expect(run.stdout).toMatch(/METEOR/);
  });

  it("a table named that is not there is a usage error, before any work", () => {
    const missing = join(tmp("none"), "paraphrase-en.gz");
    const env = runCli(["coco", "eval", "--annotations", ANNOTATIONS, "--results", RESULTS, "--out", tmp("out"), "--no-progress"], {
      ...clean,
      EMB_METEOR_PARAPHRASE: missing,
    });
    expect(env.status).toBe(2);
    expect(env.stderr).toContain(`EMB_METEOR_PARAPHRASE=${missing}: no such file`);
    const flag = runCli(
      ["coco", "eval", "--annotations", ANNOTATIONS, "--results", RESULTS, "--out", tmp("out"), "--no-progress", "--paraphrase-table", missing],
      clean,
    );
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain(`--paraphrase-table ${missing}: no such file`);
  });
});

describe("emb coco eval --images with the tiny Florence-2", () => {
  const files = ["photo_500x375.jpg", "portrait_375x500.jpg", "large_1280x720.jpg", "cmyk_320x240.jpg"];
  const generation = readJson<{ cases: { image: string; task: string; settings: object; parsed: Record<string, string> }[] }>(
    "goldens",
    "florence2",
    "generation.json",
  );
  const caption = (file: string) =>
    generation.cases.find((c) => c.image === file && c.task === "<CAPTION>" && JSON.stringify(c.settings) === '{"max_new_tokens":24}')!.parsed["<CAPTION>"];

  function dataset() {
    const dir = tmp("images");
    mkdirSync(join(dir, "val"));
    for (const f of files) copyFileSync(fixturePath("images", f), join(dir, "val", f));
    const annotations = join(dir, "captions.json");
    writeFileSync(
      annotations,
      JSON.stringify({
        images: files.map((f, i) => ({ id: 100 + i, file_name: f })),
        annotations: files.flatMap((f, i) => [0, 1].map((k) => ({ id: i * 2 + k, image_id: 100 + i, caption: `A photo number ${k} of ${f}.` }))),
      }),
    );
    return { images: join(dir, "val"), annotations };
  }

  it("captions every annotated image into a COCO results file, resumes, and scores it", () => {
    const { images, annotations } = dataset();
    const out = tmp("run");
    const args = ["coco", "eval", "--images", images, "--annotations", annotations, "--out", out, "--model", fixturePath("florence2-tiny")];
    const common = ["--max-new-tokens", "24", "--metrics", "bleu,rouge,cider", "--bootstrap", "50", "--no-progress", "--json"];
    const first = runCli([...args, ...common, "--limit", "2"]);
    expect(first.status, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ images: 2, captioning: { captioned: 2, resumed: 0 } });
    const second = runCli([...args, ...common]);
    expect(second.status, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ images: 4, captioning: { captioned: 2, resumed: 2 } });
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as { image_id: number; caption: string }[];
    expect(results).toEqual(files.map((f, i) => ({ image_id: 100 + i, caption: caption(f) })));
  });

  it("sums up missing and unreadable images in one warning line each, on stderr, and exits 3", () => {
    const { images, annotations } = dataset();
    const given = JSON.parse(readFileSync(annotations, "utf8"));
    const absent = ["gone_0.jpg", "gone_1.jpg", "gone_2.jpg"];
    writeFileSync(join(images, "broken.jpg"), "not a jpeg");
    const extra = [...absent, "broken.jpg"].map((f, i) => ({ id: 200 + i, file_name: f }));
    given.images.push(...extra);
    given.annotations.push(...extra.map((e, i) => ({ id: 100 + i, image_id: e.id, caption: "A photo." })));
    writeFileSync(annotations, JSON.stringify(given));
    const out = tmp("gone");
    const run = runCli([
      ...["coco", "eval", "--images", images, "--annotations", annotations, "--out", out, "--model", fixturePath("florence2-tiny")],
      ...["--max-new-tokens", "4", "--metrics", "rouge", "--bootstrap", "0", "--no-progress"],
    ]);
    expect(run.status, run.stderr).toBe(3);
    const warnings = run.stderr.split("\n").filter((l) => l.startsWith("Warning: "));
    expect(warnings).toEqual([
      `Warning: 3 images not found under ${images}; first: ${join(images, "gone_0.jpg")} (all listed in ${join(out, "metrics.json")})`,
      expect.stringMatching(new RegExp(`^Warning: 1 image not captioned \\(\\w+\\): ${join(images, "broken.jpg")}: .+ \\(all listed in `)),
    ]);
    expect(run.stdout).not.toContain("gone_");
    expect(run.stdout).not.toContain("broken.jpg");
    expect(run.stdout).toContain("4 images scored");
    const failures = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")).captioning.failures as { path: string }[];
    expect(failures.map((f) => f.path).sort()).toEqual([...absent, "broken.jpg"].map((f) => join(images, f)).sort());
  });

  it("keeps the complete entries of a results file torn by a kill", () => {
    const { images, annotations } = dataset();
    const out = tmp("torn");
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, "results.json"), `[\n{"image_id":100,"caption":"kept"},\n{"image_id":101,"capt`);
    const run = runCli([
      ...["coco", "eval", "--images", images, "--annotations", annotations, "--out", out, "--model", fixturePath("florence2-tiny")],
      ...["--max-new-tokens", "24", "--metrics", "rouge", "--bootstrap", "0", "--no-progress", "--json"],
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).captioning).toMatchObject({ captioned: 3, resumed: 1 });
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    expect(results[0]).toEqual({ image_id: 100, caption: "kept" });
    expect(results).toHaveLength(4);
  });
});
