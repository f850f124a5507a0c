/**
 * METEOR as pycocoevalcap computes it, without Java: pycocoevalcap runs METEOR 1.5
 * (`java -jar meteor-1.5.jar - - -stdio -l en -norm`), sends one `SCORE ||| ref1 ||| ... ||| cand`
 * line per image, then one `EVAL` line with all the statistics it got back, and reports the jar's
 * per-image scores and its corpus score.
 *
 * Reproduced here (see meteor/*.ts for each part):
 * - the default task for English: alpha 0.85, beta 0.2, gamma 0.6, delta 0.75; module weights
 *   exact 1.0, stem 0.6, synonym 0.8, paraphrase 0.6;
 * - `-norm`: METEOR's tokenising normaliser, then lower-casing;
 * - the aligner (exact, Snowball stem, WordNet 3.0 synonym and, when a table is given, paraphrase
 *   matches; beam search of 40 for the alignment with most matches, then fewest chunks, then
 *   least distance) and its fragmentation penalty;
 * - several references: the candidate is aligned with each and the first reference with the
 *   highest score gives the image's statistics;
 * - the corpus score from the statistics summed over images, not the mean of image scores.
 *
 * Paraphrase matching needs a METEOR paraphrase table (paraphrase-en.gz from the METEOR 1.5
 * distribution, which pycocoevalcap's wheel ships at pycocoevalcap/meteor/data/); it is read from
 * the path given here (`emb coco eval` finds one with meteor/find-paraphrase.ts). Without it the
 * result is that of the jar run with `-m "exact stem synonym"`, which differs from pycocoevalcap's
 * figure wherever a paraphrase would have matched.
 */
import { pairCaptions } from "./bleu.js";
import { Aligner, type ModuleName } from "./meteor/align.js";
import { javaTrim, meteorWords } from "./meteor/normalize.js";
import { ParaphraseTable } from "./meteor/paraphrase.js";
import { aggregateStats, computeMetrics, METEOR_MODULE_WEIGHTS, padStats, type MeteorStats } from "./meteor/score.js";
import { EnglishStemmer } from "./meteor/stem.js";
import { SynonymDictionary } from "./meteor/synonyms.js";
import type { MetricResult, TokenizedCaptions } from "./types.js";

export interface MeteorOptions {
  /** Path of a METEOR paraphrase table (gzip, METEOR 1.5 format) to enable paraphrase matching. */
  paraphraseTable?: string;
}

let wordnet: SynonymDictionary | undefined;

export class Meteor {
  private readonly weights: readonly number[];

  private constructor(private readonly aligner: Aligner) {
    this.weights = METEOR_MODULE_WEIGHTS.slice(0, aligner.modules.length);
  }

  /** Loads WordNet (and the paraphrase table when given). */
  static async load(options: MeteorOptions = {}): Promise<Meteor> {
    wordnet ??= SynonymDictionary.load();
    const modules: ModuleName[] = ["exact", "stem", "synonym"];
    let paraphrases: ParaphraseTable | undefined;
    if (options.paraphraseTable !== undefined) {
      paraphrases = await ParaphraseTable.load(options.paraphraseTable);
      modules.push("paraphrase");
    }
    return new Meteor(new Aligner(modules, { stemmer: new EnglishStemmer(), synonyms: wordnet, paraphrases }));
  }

  /** The modules in use, in order. */
  get modules(): readonly ModuleName[] {
    return this.aligner.modules;
  }

  /** Whether paraphrase matching is on (a table was given). */
  get usesParaphrases(): boolean {
    return this.aligner.modules.includes("paraphrase");
  }

  /**
   * One image's statistics as the jar's SCORE line gives them: the candidate against each
   * reference, keeping the first best-scoring one.
   */
  segmentStats(references: readonly string[], candidate: string): MeteorStats {
    const { refs, test } = scoreLineParts(references, candidate);
    const testWords = meteorWords(test);
    let best: MeteorStats | undefined;
    let bestScore = -1;
    for (const ref of refs) {
      const stats = padStats(this.aligner.align(testWords, meteorWords(ref)));
      const { score } = computeMetrics(stats, this.weights);
      if (score > bestScore) {
        best = stats;
        bestScore = score;
      }
    }
    return best!;
  }

  /** The score of one set of statistics (one image's, or summed ones). */
  scoreStats(stats: MeteorStats): number {
    return computeMetrics(stats, this.weights).score;
  }

  /**
   * Corpus and per-image METEOR, per-image scores in the references' order; `corpus` rescores
   * any multiset of those images from their statistics (bootstrap resampling).
   */
  score(gts: TokenizedCaptions, res: TokenizedCaptions): MetricResult & { corpus: (indices: ArrayLike<number>) => number } {
    const all = pairCaptions(gts, res).map((p) => this.segmentStats(p.refs, p.candidate));
    return {
      score: this.scoreStats(aggregateStats(all)),
      scores: all.map((s) => this.scoreStats(s)),
      corpus: (indices) => this.scoreStats(aggregateStats(Array.from(indices, (i) => all[i]))),
    };
  }
}

/**
 * The references and candidate as the jar reads them back from pycocoevalcap's SCORE line:
 * "|||" and double spaces are removed from the candidate only, the line is split on "|||" (Java
 * String.split, dropping trailing empty parts) and each part trimmed the Java way.
 */
function scoreLineParts(references: readonly string[], candidate: string): { refs: string[]; test: string } {
  const hypothesis = candidate.replaceAll("|||", "").replaceAll("  ", " ");
  const parts = ["SCORE", references.join(" ||| "), hypothesis].join(" ||| ").split("|||");
  while (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  if (parts.length < 3) throw new Error("METEOR: an image needs a candidate and at least one reference");
  return { refs: parts.slice(1, -1).map(javaTrim), test: javaTrim(parts[parts.length - 1]) };
}
