/**
 * METEOR 1.5's aligner: candidate matches from each module, then a left-to-right beam search
 * over the reference's words for the best one-to-one alignment.
 *
 * Semantics reproduced from the jar (line 1 is the candidate, line 2 the reference):
 * - Words are compared by Java String.hashCode keys. Modules run in order (exact, stem, synonym,
 *   paraphrase); stem and synonym matches are only made between words with different keys, and
 *   every module adds its matches, so one word pair can be matched by both stem and synonym.
 *   When both sentences have the same keys, only the first module runs.
 * - A reference position whose only candidate match covers words that no other match covers is
 *   fixed before the search.
 * - The search visits reference positions left to right, keeping the best 40 partial alignments
 *   (stable sort) and extending each by every usable match starting there or by skipping the
 *   word. Partial alignments are ranked by their weighted match total (more is better), then
 *   chunks (fewer), then distance (smaller). The weights the search uses are 1 for exact and 0.5
 *   for every other module, added into integer counters: a one-word stem or synonym match adds 0
 *   (truncated) and a paraphrase adds half its length rounded down. So a stem or synonym match
 *   that was not fixed beforehand is kept only if it does not cost a chunk.
 * - As in the jar, the distance of a match taken on a new branch is added to the branch that
 *   skips the word instead of the new one.
 * - Chunks are counted on the final alignment: a new chunk starts at an unmatched reference word
 *   or where consecutive matches are not contiguous in the candidate.
 */
import { javaHash } from "./normalize.js";
import type { ParaphraseTable } from "./paraphrase.js";
import type { EnglishStemmer } from "./stem.js";
import type { SynonymDictionary } from "./synonyms.js";

export type ModuleName = "exact" | "stem" | "synonym" | "paraphrase";

/** A match of reference words [start, start + length) with candidate words [matchStart, matchStart + matchLength). */
interface Match {
  start: number;
  length: number;
  matchStart: number;
  matchLength: number;
  /** Index of the module (position in the module list). */
  module: number;
}

/** What the scorer needs from one alignment, per module index. */
export interface AlignmentCounts {
  testLength: number;
  referenceLength: number;
  testFunctionWords: number;
  referenceFunctionWords: number;
  testContentMatches: number[];
  referenceContentMatches: number[];
  testFunctionMatches: number[];
  referenceFunctionMatches: number[];
  chunks: number;
  testWordMatches: number;
  referenceWordMatches: number;
}

/**
 * METEOR's English function word list (the jar's function/english.words): matched function
 * words count with weight 1 - delta instead of delta.
 */
export const ENGLISH_FUNCTION_WORDS: ReadonlySet<string> = new Set([
  "the",
  ",",
  ".",
  "to",
  "of",
  "and",
  "a",
  "in",
  "that",
  "for",
  '"',
  "is",
  "on",
  "'s",
  "it",
  "with",
  "was",
  "as",
  "said",
  "at",
  "he",
  "by",
  "be",
  "from",
  "have",
  "has",
  "are",
  "his",
  "but",
  "an",
  "this",
  "not",
  "i",
  "will",
  "\u2019",
  "they",
  ")",
  "-rrb-",
  "(",
  "-lrb-",
  "who",
  "their",
  "had",
  "we",
  "which",
  "were",
  "been",
  "more",
  "or",
  "s",
  "its",
  "would",
  "about",
  "new",
  "one",
  "after",
  "you",
  ":",
  "also",
  "up",
  "when",
  "there",
  "than",
  "$",
  "all",
  "out",
  "her",
  "people",
  "she",
  "year",
  "two",
  "-",
  "can",
  "if",
  "last",
  "first",
  "\u201C",
  "over",
  "other",
  "\u201D",
  "into",
  "some",
  "what",
  "so",
  "--",
  "no",
  "time",
  "years",
  "could",
  "?",
  "'t",
  "\u2014",
  "'",
]);

const BEAM_SIZE = 40;

export interface AlignerResources {
  stemmer?: EnglishStemmer;
  synonyms?: SynonymDictionary;
  paraphrases?: ParaphraseTable;
}

interface Stage {
  keys1: Int32Array;
  keys2: Int32Array;
  /** matches[j]: the candidate matches starting at reference word j, in the order found. */
  matches: Match[][];
  coverage1: Int32Array;
  coverage2: Int32Array;
}

interface Path {
  matches: (Match | null)[];
  weighted: number; // matches1 + matches2 (integer counters)
  chunks: number;
  idx: number;
  lastMatchEnd: number;
  distance: number;
  used1: Uint8Array;
  used2: Uint8Array;
  /**
   * A branch not yet made: its totals are final, its arrays still its parent's. Most branches of
   * a long candidate fall out of the beam at the next sort; copying their candidate-length
   * arrays up front made the search quadratic in time and memory (20,000 words: 53 s, 3.5 GB).
   * A path's arrays never change once made, so making the branch later gives the same arrays.
   */
  pending?: { parent: Path; match: Match };
}

/** Gives a branch its own arrays: the parent's plus its match. */
function materialize(p: Path): void {
  if (!p.pending) return;
  const { parent, match } = p.pending;
  p.matches = parent.matches.slice();
  p.matches[match.start] = match;
  p.used1 = parent.used1.slice();
  p.used1.fill(1, match.matchStart, match.matchStart + match.matchLength);
  p.used2 = parent.used2.slice();
  p.used2.fill(1, match.start, match.start + match.length);
  p.pending = undefined;
}

/** The jar's PARTIAL_COMPARE_TOTAL: more weighted matches, then fewer chunks, then less distance. */
function comparePaths(x: Path, y: Path): number {
  const d = y.weighted - x.weighted;
  if (d !== 0) return d > 0 ? 1 : -1;
  if (x.chunks !== y.chunks) return x.chunks - y.chunks;
  return x.distance - y.distance;
}

function addMatch(stage: Stage, m: Match): void {
  stage.matches[m.start].push(m);
  for (let k = 0; k < m.matchLength; k++) stage.coverage1[m.matchStart + k]++;
  for (let k = 0; k < m.length; k++) stage.coverage2[m.start + k]++;
}

function oneToOne(j: number, i: number, module: number): Match {
  return { start: j, length: 1, matchStart: i, matchLength: 1, module };
}

export class Aligner {
  /** Weights the search ranks partial alignments with (not the scoring weights). */
  private readonly searchWeights: number[];

  constructor(
    readonly modules: readonly ModuleName[],
    private readonly resources: AlignerResources,
    private readonly functionWords: ReadonlySet<string> = ENGLISH_FUNCTION_WORDS,
  ) {
    this.searchWeights = modules.map((m) => (m === "exact" ? 1 : 0.5));
    for (const m of modules) {
      if (m === "stem" && !resources.stemmer) throw new Error("METEOR: the stem module needs a stemmer");
      if (m === "synonym" && !resources.synonyms) throw new Error("METEOR: the synonym module needs WordNet");
      if (m === "paraphrase" && !resources.paraphrases) throw new Error("METEOR: the paraphrase module needs a paraphrase table");
    }
  }

  /** Aligns a candidate (words1) with a reference (words2), both normalised and tokenised. */
  align(words1: readonly string[], words2: readonly string[]): AlignmentCounts {
    const n1 = words1.length;
    const n2 = words2.length;
    const stage: Stage = {
      keys1: Int32Array.from(words1, javaHash),
      keys2: Int32Array.from(words2, javaHash),
      matches: Array.from({ length: n2 }, () => []),
      coverage1: new Int32Array(n1),
      coverage2: new Int32Array(n2),
    };

    const identical = n1 === n2 && stage.keys1.every((k, i) => k === stage.keys2[i]);
    const modulesUsed = identical ? 1 : this.modules.length;
    for (let module = 0; module < modulesUsed; module++) {
      switch (this.modules[module]) {
        case "exact":
          this.matchExact(stage, module);
          break;
        case "stem":
          this.matchStems(stage, words1, words2, module);
          break;
        case "synonym":
          this.matchSynonyms(stage, words1, words2, module);
          break;
        case "paraphrase":
          this.matchParaphrases(stage, words1, words2, module);
          break;
      }
    }

    // Fix the unambiguous matches.
    const start: Path = {
      matches: new Array<Match | null>(n2).fill(null),
      weighted: 0,
      chunks: 0,
      idx: 0,
      lastMatchEnd: -1,
      distance: 0,
      used1: new Uint8Array(n1),
      used2: new Uint8Array(n2),
    };
    for (let j = 0; j < n2; j++) {
      if (stage.matches[j].length !== 1) continue;
      const m = stage.matches[j][0];
      let overlap = false;
      for (let k = 0; k < m.length; k++) if (stage.coverage2[j + k] !== 1) overlap = true;
      for (let k = 0; k < m.matchLength; k++) if (stage.coverage1[m.matchStart + k] !== 1) overlap = true;
      if (overlap) continue;
      start.matches[j] = m;
      start.used2.fill(1, j, j + m.length);
      start.used1.fill(1, m.matchStart, m.matchStart + m.matchLength);
    }

    const best = this.resolve(stage, start);
    return this.count(words1, words2, best.matches);
  }

  private matchExact(stage: Stage, module: number): void {
    const { keys1, keys2 } = stage;
    for (let j = 0; j < keys2.length; j++) {
      for (let i = 0; i < keys1.length; i++) if (keys1[i] === keys2[j]) addMatch(stage, oneToOne(j, i, module));
    }
  }

  private matchStems(stage: Stage, words1: readonly string[], words2: readonly string[], module: number): void {
    const stemmer = this.resources.stemmer!;
    const stems1 = words1.map((w) => javaHash(stemmer.stem(w)));
    const stems2 = words2.map((w) => javaHash(stemmer.stem(w)));
    const { keys1, keys2 } = stage;
    for (let j = 0; j < stems2.length; j++) {
      for (let i = 0; i < stems1.length; i++) {
        if (stems1[i] === stems2[j] && keys1[i] !== keys2[j]) addMatch(stage, oneToOne(j, i, module));
      }
    }
  }

  private matchSynonyms(stage: Stage, words1: readonly string[], words2: readonly string[], module: number): void {
    const synonyms = this.resources.synonyms!;
    const sets1 = words1.map((w) => synonyms.allSynSets(w));
    const sets2 = words2.map((w) => synonyms.allSynSets(w));
    const { keys1, keys2 } = stage;
    for (let j = 0; j < sets2.length; j++) {
      for (let i = 0; i < sets1.length; i++) {
        if (keys1[i] === keys2[j]) continue;
        let shared = false;
        for (const s of sets1[i]) {
          if (sets2[j].has(s)) {
            shared = true;
            break;
          }
        }
        if (shared) addMatch(stage, oneToOne(j, i, module));
      }
    }
  }

  private matchParaphrases(stage: Stage, words1: readonly string[], words2: readonly string[], module: number): void {
    const table = this.resources.paraphrases!;
    const line1 = table.translate(words1);
    const line2 = table.translate(words2);
    const occursAt = (line: Int32Array, at: number, phrase: Int32Array) => {
      for (let k = 0; k < phrase.length; k++) if (at + k === line.length || line[at + k] !== phrase[k]) return false;
      return true;
    };
    // Reference phrases whose paraphrase is in the candidate...
    for (let j = 0; j < line2.length; j++) {
      table.forEachFrom(line2, j, (length, paraphrase) => {
        for (let i = 0; i < line1.length; i++) {
          if (occursAt(line1, i, paraphrase)) {
            addMatch(stage, { start: j, length, matchStart: i, matchLength: paraphrase.length, module });
          }
        }
      });
    }
    // ...then candidate phrases whose paraphrase is in the reference.
    for (let i = 0; i < line1.length; i++) {
      table.forEachFrom(line1, i, (length, paraphrase) => {
        for (let j = 0; j < line2.length; j++) {
          if (occursAt(line2, j, paraphrase)) {
            addMatch(stage, { start: j, length: paraphrase.length, matchStart: i, matchLength: length, module });
          }
        }
      });
    }
  }

  /** Adds match m to a path's running totals (chunks, position, weighted count). */
  private extend(p: Path, m: Match): void {
    const w = this.searchWeights[m.module];
    // The jar adds length * weight into int counters (one per sentence), truncating each time.
    p.weighted += Math.trunc(m.matchLength * w) + Math.trunc(m.length * w);
    if (p.lastMatchEnd !== -1 && m.matchStart !== p.lastMatchEnd) p.chunks++;
    p.idx = m.start + m.length;
    p.lastMatchEnd = m.matchStart + m.matchLength;
  }

  private resolve(stage: Stage, start: Path): Path {
    const n2 = stage.matches.length;
    let next: Path[] = [start];
    for (let current = 0; current <= n2; current++) {
      const paths = next;
      next = [];
      paths.sort(comparePaths);
      for (let rank = 0; rank < BEAM_SIZE && rank < paths.length; rank++) {
        const path = paths[rank];
        materialize(path);
        if (current === n2) {
          if (path.lastMatchEnd !== -1) path.chunks++;
          next.push(path);
          continue;
        }
        if (path.used2[current]) {
          if (current < path.idx) {
            next.push(path); // inside a match already taken
          } else {
            const fixed = path.matches[path.idx];
            if (fixed !== null) {
              this.extend(path, fixed);
              path.distance += Math.abs(fixed.start - fixed.matchStart);
              next.push(path);
            }
          }
          continue;
        }
        for (const m of stage.matches[current]) {
          if (this.isUsed(path, m)) continue;
          const branch: Path = { ...path, pending: { parent: path, match: m } };
          this.extend(branch, m);
          path.distance += Math.abs(m.start - m.matchStart); // sic: the skipping path's distance
          next.push(branch);
        }
        // Skip this reference word.
        if (path.lastMatchEnd !== -1) {
          path.chunks++;
          path.lastMatchEnd = -1;
        }
        path.idx++;
        next.push(path);
      }
      if (next.length === 0) next.push(paths[0]);
    }
    next.sort(comparePaths);
    materialize(next[0]);
    return next[0];
  }

  private isUsed(p: Path, m: Match): boolean {
    for (let k = 0; k < m.length; k++) if (p.used2[m.start + k]) return true;
    for (let k = 0; k < m.matchLength; k++) if (p.used1[m.matchStart + k]) return true;
    return false;
  }

  private count(words1: readonly string[], words2: readonly string[], matches: (Match | null)[]): AlignmentCounts {
    const nModules = this.modules.length;
    const isFunction1 = words1.map((w) => this.functionWords.has(w.toLowerCase()));
    const isFunction2 = words2.map((w) => this.functionWords.has(w.toLowerCase()));
    const counts: AlignmentCounts = {
      testLength: words1.length,
      referenceLength: words2.length,
      testFunctionWords: isFunction1.filter(Boolean).length,
      referenceFunctionWords: isFunction2.filter(Boolean).length,
      testContentMatches: new Array<number>(nModules).fill(0),
      referenceContentMatches: new Array<number>(nModules).fill(0),
      testFunctionMatches: new Array<number>(nModules).fill(0),
      referenceFunctionMatches: new Array<number>(nModules).fill(0),
      chunks: 0,
      testWordMatches: 0,
      referenceWordMatches: 0,
    };
    for (const m of matches) {
      if (m === null) continue;
      for (let k = 0; k < m.matchLength; k++) {
        if (isFunction1[m.matchStart + k]) counts.testFunctionMatches[m.module]++;
        else counts.testContentMatches[m.module]++;
      }
      for (let k = 0; k < m.length; k++) {
        if (isFunction2[m.start + k]) counts.referenceFunctionMatches[m.module]++;
        else counts.referenceContentMatches[m.module]++;
      }
    }
    // Totals and chunks, walking the reference.
    let idx = 0;
    let lastMatchEnd = -1;
    while (idx < matches.length) {
      const m = matches[idx];
      if (m === null) {
        if (lastMatchEnd !== -1) {
          counts.chunks++;
          lastMatchEnd = -1;
        }
        idx++;
      } else {
        counts.testWordMatches += m.matchLength;
        counts.referenceWordMatches += m.length;
        if (lastMatchEnd !== -1 && m.matchStart !== lastMatchEnd) counts.chunks++;
        idx = m.start + m.length;
        lastMatchEnd = m.matchStart + m.matchLength;
      }
    }
    if (lastMatchEnd !== -1) counts.chunks++;
    return counts;
  }
}
