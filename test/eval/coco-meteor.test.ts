/**
 * METEOR against the METEOR 1.5 jar pycocoevalcap runs (goldens: tools/reference/meteor_goldens.py).
 *
 * The contract is the corpus score within 0.005 of the jar's. The implementation reproduces the
 * jar's alignments, so these tests also check that every image's sufficient statistics (the line
 * the jar prints for a SCORE request) are the jar's exactly and that scores agree to 1e-12
 * (floating-point rounding only).
 *
 * Configurations: "no_paraphrase" (the jar with -m "exact stem synonym", what emb computes
 * without a paraphrase table), "tiny_table" (all modules with a small hand-written paraphrase
 * table, written to a temporary file here) and "paraphrase" (pycocoevalcap's own command with
 * METEOR's paraphrase-en.gz; only run when EMB_METEOR_PARAPHRASE_TABLE names that file, e.g.
 * tools/reference/.venv/lib/python3.11/site-packages/pycocoevalcap/meteor/data/paraphrase-en.gz).
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Meteor } from "../../src/eval/coco/meteor.js";
import { meteorWords } from "../../src/eval/coco/meteor/normalize.js";
import { aggregateStats, formatStats } from "../../src/eval/coco/meteor/score.js";
import { SynonymDictionary } from "../../src/eval/coco/meteor/synonyms.js";
import { findParaphraseTable, NO_TABLE_NOTE } from "../../src/eval/coco/meteor/find-paraphrase.js";
import { parseSynonymTables, SortedSynonymText, synonymTablePath } from "../../src/eval/coco/meteor/synonym-table.js";
import type { ImageId, TokenizedCaptions } from "../../src/eval/coco/types.js";
import { readJson } from "../helpers/fixtures.js";

interface JarRun {
  corpus: number;
  per_image: number[];
  stats: string[];
}
type Config = "paraphrase" | "no_paraphrase" | "tiny_table";
interface MeteorGolden {
  image_ids: number[];
  tiny_paraphrase_table: [number, string, string][];
  probes: [string[], string][];
  results: Record<Config, { coco: JarRun; probes: JarRun }>;
}
interface MetricsGolden {
  image_ids: number[];
  gts: string[][];
  res: string[][];
  corpus: { METEOR: number };
}

const golden = readJson<MeteorGolden>("goldens", "coco", "meteor.json");
const metrics = readJson<MetricsGolden>("goldens", "coco", "metrics.json");

/** The contract: corpus METEOR within this of the jar's. */
const CORPUS_TOL = 0.005;
/** Scores computed from identical statistics: only floating-point rounding may differ. */
const SCORE_TOL = 1e-12;

const gts: TokenizedCaptions = new Map(metrics.image_ids.map((id, i) => [id, metrics.gts[i]]));
// Candidates in another order than the references: scores must follow the references' order.
const res: TokenizedCaptions = new Map(metrics.image_ids.map((id, i) => [id, metrics.res[i]] as const).reverse());

/** One image per entry: [references, candidate], ids 1, 2, ... */
function captions(images: [string[], string][]): [TokenizedCaptions, TokenizedCaptions] {
  return [new Map<ImageId, string[]>(images.map(([refs], i) => [i + 1, refs])), new Map<ImageId, string[]>(images.map(([, cand], i) => [i + 1, [cand]]))];
}

interface Gaps {
  corpus: number;
  meanImage: number;
  maxImage: number;
}

/** Scores the COCO set and the probes and compares them with one jar configuration. */
function compareWithJar(meteor: Meteor, config: Config): { coco: Gaps; probes: Gaps } {
  expect(golden.image_ids).toEqual(metrics.image_ids);
  const out = {} as { coco: Gaps; probes: Gaps };
  for (const set of ["coco", "probes"] as const) {
    const jar = golden.results[config][set];
    const [refs, cands] = set === "coco" ? [gts, res] : captions(golden.probes);
    const { score, scores } = meteor.score(refs, cands);
    const diffs = scores.map((s, i) => Math.abs(s - jar.per_image[i]));
    out[set] = {
      corpus: Math.abs(score - jar.corpus),
      meanImage: diffs.reduce((a, b) => a + b, 0) / diffs.length,
      maxImage: Math.max(...diffs),
    };
    expect(scores).toHaveLength(jar.per_image.length);
    expect(out[set].corpus, `${config} ${set} corpus ${score} vs jar ${jar.corpus}`).toBeLessThanOrEqual(CORPUS_TOL);

    // Parity: the jar's statistics for every image, and scores up to rounding.
    const items: [string[], string][] = set === "coco" ? metrics.image_ids.map((_, i) => [metrics.gts[i], metrics.res[i][0]]) : golden.probes;
    const stats = items.map(([r, c]) => meteor.segmentStats(r, c));
    stats.forEach((s, i) => expect(formatStats(s), `${config} ${set} #${i}: ${JSON.stringify(items[i])}`).toBe(jar.stats[i]));
    expect(out[set].maxImage).toBeLessThanOrEqual(SCORE_TOL);
    expect(out[set].corpus).toBeLessThanOrEqual(SCORE_TOL);
    expect(Math.abs(meteor.scoreStats(aggregateStats(stats)) - jar.corpus)).toBeLessThanOrEqual(SCORE_TOL);
  }
  return out;
}

describe("METEOR without a paraphrase table equals the jar with -m 'exact stem synonym'", () => {
  let meteor: Meteor;
  beforeAll(async () => {
    meteor = await Meteor.load();
  });

  it("uses the exact, stem and synonym modules", () => {
    expect(meteor.modules).toEqual(["exact", "stem", "synonym"]);
    expect(meteor.usesParaphrases).toBe(false);
  });

  it("COCO test set and probes: corpus, per image and statistics", () => {
    compareWithJar(meteor, "no_paraphrase");
  });

  describe("hand-worked examples (default task: alpha 0.85, beta 0.2, gamma 0.6, delta 0.75)", () => {
    const alpha = 0.85;
    const beta = 0.2;
    const gamma = 0.6;
    const delta = 0.75;
    const fmean = (p: number, r: number) => (p * r) / ((1 - alpha) * r + alpha * p);
    const one = (refs: string[], cand: string) => meteor.scoreStats(meteor.segmentStats(refs, cand));
    const jarProbe = (refs: string[], cand: string) => {
      const k = golden.probes.findIndex(([r, c]) => c === cand && JSON.stringify(r) === JSON.stringify(refs));
      expect(k).toBeGreaterThanOrEqual(0);
      return golden.results.no_paraphrase.probes.per_image[k];
    };

    it("identical strings: every word matched in one chunk, so no fragmentation penalty: 1", () => {
      expect(one(["a man riding a horse"], "a man riding a horse")).toBe(1);
      expect(jarProbe(["a man riding a horse"], "a man riding a horse")).toBe(1);
    });

    it("one chunk that does not cover the reference pays the penalty of 1 chunk per 5 matches", () => {
      // Candidate: a man riding a horse (2 function words "a"); reference adds "on the beach".
      // Content/function weighted lengths: test 3 delta + 2 (1-delta) = 2.75, reference 4 delta + 4 (1-delta) = 4.
      const p = (3 * delta + 2 * (1 - delta)) / 2.75;
      const r = (3 * delta + 2 * (1 - delta)) / 4;
      const expected = fmean(p, r) * (1 - gamma * Math.pow(1 / 5, beta));
      const cand = "a man riding a horse";
      const refs = ["a man riding a horse on the beach"];
      expect(one(refs, cand)).toBeCloseTo(expected, 12);
      expect(jarProbe(refs, cand)).toBeCloseTo(expected, 12);
    });

    it("a stem-only match counts with weight 0.6", () => {
      // generously/generous share the Snowball stem "generous" but no WordNet synset. Both
      // sentences: 3 content words and "a"; all matched in one chunk, so P = R = score.
      const expected = ((2 + 0.6) * delta + 1 * (1 - delta)) / (3 * delta + (1 - delta));
      const refs = ["a generous sized pizza"];
      const cand = "a generously sized pizza";
      expect(one(refs, cand)).toBeCloseTo(expected, 12);
      expect(expected).toBeCloseTo(0.88, 12);
      expect(jarProbe(refs, cand)).toBeCloseTo(expected, 12);
      const stats = meteor.segmentStats(refs, cand);
      expect([stats.testContentMatches[1], stats.referenceContentMatches[1]]).toEqual([1, 1]);
    });

    it("a synonym-only match counts with weight 0.8", () => {
      // car/automobile share a WordNet synset; "a" and "small" match exactly; one chunk.
      const expected = ((1 + 0.8) * delta + 1 * (1 - delta)) / (2 * delta + (1 - delta));
      expect(one(["a small car"], "a small automobile")).toBeCloseTo(expected, 12);
      expect(jarProbe(["a small car"], "a small automobile")).toBeCloseTo(expected, 12);
      // "an automobile" vs "a car": one synonym match of two words each, 1 chunk per match.
      const p = (0.8 * delta) / (delta + (1 - delta));
      const expected2 = fmean(p, p) * (1 - gamma * Math.pow(1, beta));
      expect(one(["a car"], "an automobile")).toBeCloseTo(expected2, 12);
      expect(expected2).toBeCloseTo(0.24, 12);
      const stats = meteor.segmentStats(["a car"], "an automobile");
      expect([stats.testContentMatches[2], stats.referenceContentMatches[2]]).toEqual([1, 1]);
    });

    it("no match scores 0", () => {
      expect(one(["the dog"], "a cat")).toBe(0);
      expect(one(["a man", "a man"], "")).toBe(0);
    });

    it("a word matched by both stem and synonym is ambiguous and left unmatched, as by the jar", () => {
      // dog/dogs and runs/running match as stems and as synonyms; the search's integer
      // counters give such matches no weight, so skipping them (fewer chunks) wins.
      expect(one(["the dogs are running"], "a dog runs")).toBe(0);
      expect(jarProbe(["the dogs are running"], "a dog runs")).toBe(0);
    });

    it("the best reference gives the image's statistics", () => {
      const refs = ["a dog", "a cat sitting on a bench"];
      expect(one(refs, "a cat seated on a bench")).toBeCloseTo(one([refs[1]], "a cat seated on a bench"), 15);
    });
  });

  it("normalises like METEOR's -norm: hyphens and possessives split, then lower-case", () => {
    expect(meteorWords("a chef's knife on a cloud-wreathed hill")).toEqual("a chef 's knife on a cloud wreathed hill".split(" "));
    expect(meteorWords("a chef 's knife")).toEqual(["a", "chef", "'", "s", "knife"]);
    expect(meteorWords("Dr. Smith met U.S. troops... at 3.5 p.m.")).toEqual(["dr.", "smith", "met", "us", "troops", "...", "at", "3.5", "pm"]);
    // "No" and "pp" keep their dot only before a number.
    expect(meteorWords('No. 5 is pp. 3 and No. more. He said: "fine" -- ok').join(" ")).toBe('no. 5 is pp. 3 and no. more . he said : " fine " - ok');
  });

  it("scores follow the references' order; a missing candidate is an error", () => {
    const { scores } = meteor.score(gts, res);
    const ordered = meteor.score(gts, new Map([...res].reverse()));
    expect(scores).toEqual(ordered.scores);
    const [refs, cands] = captions([[["a dog"], "a dog"]]);
    cands.delete(1);
    cands.set(2, ["a dog"]);
    expect(() => meteor.score(refs, cands)).toThrow(/image id/);
  });
});

describe("the committed WordNet table (data/meteor/wordnet-3.0-synonyms.tsv.gz)", () => {
  // Its equality with WordNet's own files is checked by tools/meteor/wordnet.test.ts (npm run test:wordnet).
  it("has the jar's vocabulary size, and its sorted-text lookups find every parsed entry", () => {
    const dictionary = SynonymDictionary.load();
    // The jar's english.synsets has 147,306 words; its english.exceptions 5,940 inflected forms.
    expect(dictionary.size).toEqual({ words: 147306, exceptionForms: 5940 });
    expect([...dictionary.synSets("car")].some((s) => dictionary.synSets("automobile").has(s))).toBe(true);
    expect([...dictionary.stemSynSets("geese")].some((s) => dictionary.synSets("goose").has(s))).toBe(true);
    const committed = gunzipSync(readFileSync(synonymTablePath())).toString("utf8");
    const parsed = parseSynonymTables(committed);
    const sorted = SortedSynonymText.fromText(committed);
    const sameSet = (a: ReadonlySet<number> | undefined, b: ReadonlySet<number>) => a !== undefined && a.size === b.size && [...b].every((x) => a.has(x));
    const sameList = (a: readonly string[] | undefined, b: readonly string[]) => a !== undefined && a.join(" ") === b.join(" ") && a.length === b.length;
    expect([...parsed.synsets].filter(([w, set]) => !sameSet(sorted.synsets(w), set)).map(([w]) => w)).toEqual([]);
    expect([...parsed.bases].filter(([f, list]) => !sameList(sorted.bases(f), list)).map(([f]) => f)).toEqual([]);
    for (const miss of ["", "zzzz", "carz", "a_", "aardvarks", "\u00e9t\u00e9"]) expect(sorted.synsets(miss)).toBeUndefined();
    expect(sorted.bases("car")).toBeUndefined();
    expect(() => SortedSynonymText.fromText("s\tb\t1\ns\ta\t2\n")).toThrow(/not sorted/);
  });
});

describe("which paraphrase table emb coco eval uses", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "emb-meteor-find-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** pycocoevalcap's table under `<prefix>/lib/<python>/site-packages`. */
  function install(prefix: string, python = "python3.11", kind = "site-packages"): string {
    const data = join(prefix, "lib", python, kind, "pycocoevalcap", "meteor", "data");
    mkdirSync(data, { recursive: true });
    const table = join(data, "paraphrase-en.gz");
    writeFileSync(table, gzipSync(Buffer.from("0.5\ntwo\na couple of\n", "utf8")));
    return table;
  }
  // Only what each case sets up: no system folders, no python3 asked.
  const find = (env: NodeJS.ProcessEnv, extra: { table?: string; disabled?: boolean; home?: string } = {}) =>
    findParaphraseTable({ env, home: join(dir, "no-home"), system: false, askPython: false, ...extra });

  it("none found: no table, and a note saying how to get one", () => {
    expect(find({ PATH: "" })).toEqual({ path: null, source: "not found", note: NO_TABLE_NOTE });
    expect(NO_TABLE_NOTE).toContain("pip install pycocoevalcap");
    expect(NO_TABLE_NOTE).toContain("EMB_METEOR_PARAPHRASE");
  });

  it("$VIRTUAL_ENV, then $CONDA_PREFIX, then ~/.local; the newest Python first", () => {
    const venv = install(join(dir, "venv"));
    const conda = install(join(dir, "conda"), "python3.12");
    const home = join(dir, "home");
    const older = install(join(home, ".local"), "python3.9");
    const newer = install(join(home, ".local"), "python3.10");
    expect(find({ VIRTUAL_ENV: join(dir, "venv"), CONDA_PREFIX: join(dir, "conda") })).toEqual({ path: venv, source: "pycocoevalcap" });
    expect(find({ VIRTUAL_ENV: join(dir, "nothing"), CONDA_PREFIX: join(dir, "conda") })).toEqual({ path: conda, source: "pycocoevalcap" });
    expect(find({}, { home })).toEqual({ path: newer, source: "pycocoevalcap" });
    expect(older).not.toBe(newer);
  });

  it("beside a python3 on PATH: its prefix, and its real path's prefix", () => {
    const real = join(dir, "python-real");
    const table = install(real, "python3.13");
    mkdirSync(join(real, "bin"), { recursive: true });
    writeFileSync(join(real, "bin", "python3.13"), "#!/bin/sh\n");
    chmodSync(join(real, "bin", "python3.13"), 0o755);
    // A folder on PATH whose python3 links to the real interpreter (as a venv's or a distribution's).
    const linked = join(dir, "linked", "bin");
    mkdirSync(linked, { recursive: true });
    symlinkSync(join(real, "bin", "python3.13"), join(linked, "python3"));
    expect(find({ PATH: [join(dir, "empty"), linked].join(":") })).toEqual({ path: table, source: "pycocoevalcap" });
  });

  it("--paraphrase-table, then $EMB_METEOR_PARAPHRASE, before an installed one; --no-paraphrase turns it off", () => {
    const venv = install(join(dir, "venv2"));
    const named = join(dir, "named.gz");
    writeFileSync(named, gzipSync(Buffer.from("0.5\na\nb\n")));
    const env = { VIRTUAL_ENV: join(dir, "venv2"), EMB_METEOR_PARAPHRASE: named };
    expect(find(env, { table: venv })).toEqual({ path: venv, source: "--paraphrase-table" });
    expect(find(env)).toEqual({ path: named, source: "EMB_METEOR_PARAPHRASE" });
    expect(find({ ...env, EMB_METEOR_PARAPHRASE: " " })).toEqual({ path: venv, source: "pycocoevalcap" });
    expect(find(env, { disabled: true })).toEqual({ path: null, source: "--no-paraphrase" });
    expect(() => find(env, { disabled: true, table: venv })).toThrow(/contradict/);
    expect(() => find({ EMB_METEOR_PARAPHRASE: join(dir, "absent.gz") })).toThrow(/EMB_METEOR_PARAPHRASE=.*absent\.gz: no such file/);
  });
});

describe("METEOR with a small hand-written paraphrase table equals the jar with -a that table", () => {
  let dir: string;
  let meteor: Meteor;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "emb-meteor-"));
    const path = join(dir, "tiny-paraphrase.gz");
    const text = golden.tiny_paraphrase_table.map(([p, a, b]) => `${p}\n${a}\n${b}\n`).join("");
    writeFileSync(path, gzipSync(Buffer.from(text, "utf8")));
    meteor = await Meteor.load({ paraphraseTable: path });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("COCO test set and probes: corpus, per image and statistics", () => {
    expect(meteor.modules).toEqual(["exact", "stem", "synonym", "paraphrase"]);
    compareWithJar(meteor, "tiny_table");
  });

  it("matches multi-word paraphrases in both directions", () => {
    const stats = meteor.segmentStats(["two people standing next to a bus"], "a couple of persons beside a bus");
    // Paraphrase slot (module 4): "a couple of" = "two", "persons" = "people", "beside" = "next to".
    expect(formatStats(stats)).toBe("7.0 7.0 3.0 4.0 1.0 1.0 1.0 1.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 3.0 1.0 2.0 3.0 2.0 7.0 6.0");
  });

  it("rejects a table without entries", async () => {
    const empty = join(dir, "empty.gz");
    writeFileSync(empty, gzipSync(Buffer.alloc(0)));
    await expect(Meteor.load({ paraphraseTable: empty })).rejects.toThrow(/no paraphrases/);
  });
});

const fullTable = process.env.EMB_METEOR_PARAPHRASE_TABLE;

describe.skipIf(!fullTable || !existsSync(fullTable))("METEOR with METEOR's paraphrase-en.gz equals pycocoevalcap", () => {
  let meteor: Meteor;
  beforeAll(async () => {
    meteor = await Meteor.load({ paraphraseTable: fullTable });
  }, 300_000);

  it("COCO test set and probes: corpus, per image and statistics", () => {
    compareWithJar(meteor, "paraphrase");
    expect(Math.abs(meteor.score(gts, res).score - metrics.corpus.METEOR)).toBeLessThanOrEqual(SCORE_TOL);
  });
});
