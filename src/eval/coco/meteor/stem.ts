/**
 * The Snowball English ("Porter2") stemmer METEOR's stem module uses (the jar bundles the
 * tartarus.org Java translation). The `snowball-stemmers` package is a JavaScript translation of
 * the same Snowball programs; it gives the jar's stem for each of 1.1 million test words (WordNet
 * 3.0 lemmas, their exception forms and regular inflections).
 */
import { createRequire } from "node:module";

interface SnowballStemmer {
  stem(word: string): string;
}
interface SnowballFactory {
  newStemmer(language: string): SnowballStemmer;
}

const require = createRequire(import.meta.url);

export class EnglishStemmer {
  private readonly stemmer: SnowballStemmer;
  private readonly cache = new Map<string, string>();

  constructor() {
    const factory = require("snowball-stemmers") as SnowballFactory;
    this.stemmer = factory.newStemmer("english");
  }

  stem(word: string): string {
    let s = this.cache.get(word);
    if (s === undefined) {
      s = this.stemmer.stem(word);
      this.cache.set(word, s);
    }
    return s;
  }
}
