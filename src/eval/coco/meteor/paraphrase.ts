/**
 * A METEOR paraphrase table (the `paraphrase-en.gz` format of METEOR 1.5: gzip-compressed UTF-8
 * text, three lines per entry: a probability, which METEOR ignores, a phrase and its paraphrase,
 * words separated by whitespace), read from a path the user gives; nothing is bundled.
 *
 * The jar keeps the phrases in a trie and asks, for a start position in a sentence, for every
 * table phrase that starts there, shortest first and, for one phrase, in file order. The same
 * answers come here from a hash index of the distinct phrases (word-id sequences in typed arrays).
 * The English table (5.3 million entries) takes about 10 s to read and 300 MB of memory (the jar
 * is given 2 GB).
 */
import { createReadStream } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { createGunzip } from "node:zlib";
import { javaTokens } from "./normalize.js";

/** A growable Int32Array. */
class IntList {
  data: Int32Array;
  length = 0;

  constructor(capacity = 1024) {
    this.data = new Int32Array(capacity);
  }

  push(v: number): number {
    if (this.length === this.data.length) {
      const grown = new Int32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length] = v;
    return this.length++;
  }
}

/** Lines as Java's BufferedReader.readLine splits them (\n, \r or \r\n). */
function splitLines(text: string): string[] {
  return text.includes("\r") ? text.split(/\r\n|\r|\n/) : text.split("\n");
}

/** Words separated by single spaces only: split(" ") gives the StringTokenizer tokens. */
const SIMPLE_LINE = /^[^ \t\n\r\f]+(?: [^ \t\n\r\f]+)*$/;

function hashIds(ids: ArrayLike<number>, start: number, length: number): number {
  let h = 0x811c9dc5 ^ length;
  for (let k = 0; k < length; k++) h = Math.imul(h ^ ids[start + k], 0x01000193) ^ (h >>> 15);
  return h >>> 0;
}

export class ParaphraseTable {
  private readonly vocab = new Map<string, number>();
  // Distinct phrases: words in phraseWords[phraseStart[p] .. + phraseLength[p]].
  private readonly phraseWords = new IntList(1 << 20);
  private readonly phraseStart = new IntList(1 << 16);
  private readonly phraseLength = new IntList(1 << 16);
  // Open-addressing index over phrases (phrase id + 1; 0 = empty).
  private slots = new Int32Array(1 << 16);
  private used = 0;
  // Per phrase as the source side: its first and last entry; entries chained in file order.
  private readonly firstEntry = new IntList(1 << 16);
  private readonly lastEntry = new IntList(1 << 16);
  private readonly entryParaphrase = new IntList(1 << 20);
  private readonly entryNext = new IntList(1 << 20);
  private longest = 0;

  /** Number of (phrase, paraphrase) entries. */
  get size(): number {
    return this.entryParaphrase.length;
  }

  /** Reads a gzip-compressed METEOR paraphrase table. */
  static async load(path: string): Promise<ParaphraseTable> {
    const table = new ParaphraseTable();
    const decoder = new StringDecoder("utf8");
    let carry = "";
    let lineNo = 0;
    // Entries come grouped by phrase: the phrase line is usually the previous entry's.
    let sourceLine: string | undefined;
    let source = -1;
    const take = (line: string) => {
      const kind = lineNo++ % 3;
      if (kind === 1) {
        if (line !== sourceLine) {
          const ids = table.wordIds(line);
          source = ids.length === 0 ? -1 : table.intern(ids);
          sourceLine = line;
        }
      } else if (kind === 2) {
        const ids = table.wordIds(line);
        // An empty side can never be part of a match; skip it.
        if (source >= 0 && ids.length > 0) table.add(source, table.intern(ids));
      }
      // kind 0: the probability, unused by METEOR
    };
    const stream = createReadStream(path).pipe(createGunzip());
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const text = carry + decoder.write(chunk);
      const cut = text.lastIndexOf("\n");
      if (cut < 0) {
        carry = text;
        continue;
      }
      carry = text.slice(cut + 1);
      for (const line of splitLines(text.slice(0, cut))) take(line);
    }
    const rest = carry + decoder.end();
    if (rest.length > 0) for (const line of splitLines(rest)) take(line);
    if (table.size === 0) throw new Error(`METEOR: no paraphrases read from ${path}`);
    return table;
  }

  /** Table ids of a sentence's words; -1 for words the table does not know. */
  translate(words: readonly string[]): Int32Array {
    const ids = new Int32Array(words.length);
    for (let i = 0; i < words.length; i++) ids[i] = this.vocab.get(words[i]) ?? -1;
    return ids;
  }

  /**
   * The entries whose phrase starts at `start` in the sentence `ids`: calls `visit(length,
   * paraphraseWords)` shortest phrase first, file order within a phrase.
   */
  forEachFrom(ids: Int32Array, start: number, visit: (length: number, paraphrase: Int32Array) => void): void {
    const maxLength = Math.min(this.longest, ids.length - start);
    for (let length = 1; length <= maxLength; length++) {
      if (ids[start + length - 1] < 0) return;
      const phrase = this.find(ids, start, length);
      if (phrase < 0) continue;
      for (let e = this.firstEntry.data[phrase]; e >= 0; e = this.entryNext.data[e]) {
        visit(length, this.words(this.entryParaphrase.data[e]));
      }
    }
  }

  private words(phrase: number): Int32Array {
    const start = this.phraseStart.data[phrase];
    return this.phraseWords.data.subarray(start, start + this.phraseLength.data[phrase]);
  }

  private wordIds(line: string): number[] {
    const tokens = SIMPLE_LINE.test(line) ? line.split(" ") : javaTokens(line);
    const ids = new Array<number>(tokens.length);
    for (let i = 0; i < tokens.length; i++) {
      let id = this.vocab.get(tokens[i]);
      if (id === undefined) this.vocab.set(tokens[i], (id = this.vocab.size));
      ids[i] = id;
    }
    return ids;
  }

  /** Appends the entry (phrase `from`, paraphrase `to`) to the phrase's chain. */
  private add(from: number, to: number): void {
    const entry = this.entryParaphrase.push(to);
    this.entryNext.push(-1);
    if (this.firstEntry.data[from] < 0) this.firstEntry.data[from] = entry;
    else this.entryNext.data[this.lastEntry.data[from]] = entry;
    this.lastEntry.data[from] = entry;
    this.longest = Math.max(this.longest, this.phraseLength.data[from]);
  }

  private sameWords(phrase: number, ids: ArrayLike<number>, start: number, length: number): boolean {
    if (this.phraseLength.data[phrase] !== length) return false;
    const at = this.phraseStart.data[phrase];
    const words = this.phraseWords.data;
    for (let k = 0; k < length; k++) if (words[at + k] !== ids[start + k]) return false;
    return true;
  }

  private find(ids: ArrayLike<number>, start: number, length: number): number {
    const mask = this.slots.length - 1;
    for (let s = hashIds(ids, start, length) & mask; ; s = (s + 1) & mask) {
      const p = this.slots[s] - 1;
      if (p < 0) return -1;
      if (this.sameWords(p, ids, start, length)) return p;
    }
  }

  private intern(ids: number[]): number {
    const found = this.find(ids, 0, ids.length);
    if (found >= 0) return found;
    if ((this.used + 1) * 2 > this.slots.length) this.grow();
    const p = this.phraseStart.push(this.phraseWords.length);
    this.phraseLength.push(ids.length);
    for (const id of ids) this.phraseWords.push(id);
    this.firstEntry.push(-1);
    this.lastEntry.push(-1);
    this.place(p);
    this.used++;
    return p;
  }

  private place(p: number): void {
    const mask = this.slots.length - 1;
    const at = this.phraseStart.data[p];
    let s = hashIds(this.phraseWords.data, at, this.phraseLength.data[p]) & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = p + 1;
  }

  private grow(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    for (let p = 0; p < this.phraseStart.length; p++) this.place(p);
  }
}
