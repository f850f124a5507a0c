/**
 * The two WordNet 3.0 tables METEOR's synonym module needs, and the committed file that holds
 * them (data/meteor/wordnet-3.0-synonyms.tsv.gz, written by tools/meteor/make-synonyms.ts):
 * - synsets: every word of index.noun/verb/adj/adv -> the synset offsets listed for it, parts of
 *   speech mixed (offsets are only compared for equality, as in the jar);
 * - bases: every inflected form of noun/verb/adj/adv.exc -> its base forms, in file order.
 *
 * The file is gzip-compressed UTF-8 text (1.5 MB; 3.9 MB unpacked): a few "#" comment lines, then
 * one line per entry, `s<TAB>word<TAB>offset offset ...` (decimal, ascending) or
 * `e<TAB>form<TAB>base base ...`, each kind sorted by word (UTF-16 code units). At run time the
 * text is searched in place (SortedSynonymText), which takes a few tens of milliseconds where
 * unpacking WordNet's tarball and building maps took half a second. Building the tables from
 * WordNet's own files is the generator's job (tools/meteor, with its own install); reading the
 * committed file needs nothing but this module.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { packageRoot } from "../../../package-root.js";
import { javaTokens } from "./normalize.js";

export interface SynonymTables {
  synsets: Map<string, Set<number>>;
  bases: Map<string, string[]>;
}

const POS = ["noun", "verb", "adj", "adv"] as const;

/** The committed table, relative to the package root. */
export const SYNONYM_TABLE = join("data", "meteor", "wordnet-3.0-synonyms.tsv.gz");

/** Where the committed table is (from src/ or dist/src/). */
export function synonymTablePath(): string {
  return join(packageRoot(), SYNONYM_TABLE);
}

/** The two tables from WordNet's index files and exception lists (`read` gives a file by name). */
export function buildSynonymTables(read: (name: string) => string): SynonymTables {
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
  return { synsets, bases };
}

/** A line's space-separated synset offsets, parsed by hand: this runs for every word looked up. */
function parseOffsets(rest: string): Set<number> {
  const set = new Set<number>();
  let n = 0;
  for (let i = 0; rest.length > 0 && i <= rest.length; i++) {
    const c = i < rest.length ? rest.charCodeAt(i) : 32;
    if (c === 32) {
      set.add(n);
      n = 0;
    } else n = n * 10 + (c - 48);
  }
  return set;
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The tables as the committed file's text (before gzip); `source` goes into the header. */
export function formatSynonymTables(tables: SynonymTables, source: string): string {
  const lines = [
    `# METEOR synonym tables from ${source}, made by tools/meteor/make-synonyms.ts: do not edit.`,
    "# WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved. Licence: WORDNET-LICENSE beside this file.",
    "# s<TAB>word<TAB>synset offsets (index.noun/verb/adj/adv); e<TAB>inflected form<TAB>base forms (*.exc)",
  ];
  for (const word of [...tables.synsets.keys()].sort(byCodeUnits)) {
    lines.push(`s\t${word}\t${[...tables.synsets.get(word)!].sort((a, b) => a - b).join(" ")}`);
  }
  for (const form of [...tables.bases.keys()].sort(byCodeUnits)) {
    lines.push(`e\t${form}\t${tables.bases.get(form)!.join(" ")}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The tables back from the committed file's text. */
export function parseSynonymTables(text: string): SynonymTables {
  const synsets = new Map<string, Set<number>>();
  const bases = new Map<string, string[]>();
  let at = 0;
  while (at < text.length) {
    let end = text.indexOf("\n", at);
    if (end < 0) end = text.length;
    const kind = text.charCodeAt(at);
    if (kind !== 35 /* # */ && end > at) {
      const tab1 = text.indexOf("\t", at);
      const tab2 = text.indexOf("\t", tab1 + 1);
      if (tab1 < 0 || tab2 < 0 || tab2 > end || tab1 !== at + 1) throw new Error(`METEOR synonym table: bad line ${JSON.stringify(text.slice(at, end))}`);
      const word = text.slice(tab1 + 1, tab2);
      const rest = text.slice(tab2 + 1, end);
      if (kind === 115 /* s */) {
        synsets.set(word, parseOffsets(rest));
      } else if (kind === 101 /* e */) {
        bases.set(word, rest.length === 0 ? [] : rest.split(" "));
      } else {
        throw new Error(`METEOR synonym table: bad line ${JSON.stringify(text.slice(at, end))}`);
      }
    }
    at = end + 1;
  }
  return { synsets, bases };
}

/** What the synonym dictionary looks up: a word's synsets, an inflected form's listed bases. */
export interface SynonymLookup {
  /** The word's synset offsets; undefined when WordNet does not list it. */
  synsets(word: string): ReadonlySet<number> | undefined;
  /** The bases an exception list gives for the form; undefined when none lists it. */
  bases(form: string): readonly string[] | undefined;
  readonly words: number;
  readonly exceptionForms: number;
}

/** Lookups in tables held as maps (built from WordNet's files, or parsed). */
export function mapLookup(tables: SynonymTables): SynonymLookup {
  return {
    synsets: (word) => tables.synsets.get(word),
    bases: (form) => tables.bases.get(form),
    words: tables.synsets.size,
    exceptionForms: tables.bases.size,
  };
}

/**
 * Lookups straight in the committed file's text: its lines are sorted by word, so a word is found
 * by binary search over the line starts, and only the lines looked up are parsed (memoised). This
 * avoids building 150,000 map entries and sets on every run.
 */
export class SortedSynonymText implements SynonymLookup {
  private readonly parsedSynsets = new Map<string, ReadonlySet<number>>();

  private constructor(
    private readonly text: string,
    /** Starts of the `s` lines' words (after "s\t"), in order. */
    private readonly synsetLines: Int32Array,
    private readonly baseLines: Int32Array,
  ) {}

  get words(): number {
    return this.synsetLines.length;
  }

  get exceptionForms(): number {
    return this.baseLines.length;
  }

  static fromText(text: string): SortedSynonymText {
    const starts: Record<"s" | "e", number[]> = { s: [], e: [] };
    let at = 0;
    while (at < text.length) {
      let end = text.indexOf("\n", at);
      if (end < 0) end = text.length;
      const kind = text[at];
      if (kind !== "#" && end > at) {
        const tab = text.indexOf("\t", at + 2);
        if ((kind !== "s" && kind !== "e") || text[at + 1] !== "\t" || tab < 0 || tab > end) {
          throw new Error(`METEOR synonym table: bad line ${JSON.stringify(text.slice(at, end))}`);
        }
        const list = starts[kind];
        const previous = list[list.length - 1];
        if (previous !== undefined && compareKeys(text, previous, at + 2) >= 0) {
          throw new Error(`METEOR synonym table: lines not sorted by word at ${JSON.stringify(text.slice(at, end))}`);
        }
        list.push(at + 2);
      }
      at = end + 1;
    }
    return new SortedSynonymText(text, Int32Array.from(starts.s), Int32Array.from(starts.e));
  }

  synsets(word: string): ReadonlySet<number> | undefined {
    const parsed = this.parsedSynsets.get(word);
    if (parsed !== undefined) return parsed;
    const rest = this.find(this.synsetLines, word);
    if (rest === undefined) return undefined; // misses are not kept: the detachment rules try many
    const set = parseOffsets(rest);
    this.parsedSynsets.set(word, set);
    return set;
  }

  bases(form: string): readonly string[] | undefined {
    const rest = this.find(this.baseLines, form);
    return rest === undefined ? undefined : rest.length === 0 ? [] : rest.split(" ");
  }

  /** The rest of the line (after the word and its tab) whose word is `key`. */
  private find(lines: Int32Array, key: string): string | undefined {
    const text = this.text;
    let low = 0;
    let high = lines.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const start = lines[mid];
      // Compare key with the line's word (ended by a tab) by UTF-16 code units.
      let cmp = 0;
      let k = 0;
      for (; ; k++) {
        const c = text.charCodeAt(start + k);
        const wordEnded = c === 9;
        if (k === key.length) {
          cmp = wordEnded ? 0 : -1;
          break;
        }
        if (wordEnded) {
          cmp = 1;
          break;
        }
        const d = key.charCodeAt(k) - c;
        if (d !== 0) {
          cmp = d;
          break;
        }
      }
      if (cmp === 0) {
        const from = start + k + 1;
        const end = text.indexOf("\n", from);
        return text.slice(from, end < 0 ? text.length : end);
      }
      if (cmp < 0) high = mid - 1;
      else low = mid + 1;
    }
    return undefined;
  }
}

/** Order of two keys of the text (each ended by a tab) by UTF-16 code units. */
function compareKeys(text: string, a: number, b: number): number {
  for (let k = 0; ; k++) {
    const ca = text.charCodeAt(a + k);
    const cb = text.charCodeAt(b + k);
    if (ca === 9 || cb === 9) return ca === cb ? 0 : ca === 9 ? -1 : 1;
    if (ca !== cb) return ca - cb;
  }
}

/** Reads the committed (gzip) table for lookups. */
export function readSynonymTable(path: string = synonymTablePath()): SortedSynonymText {
  if (!existsSync(path)) throw new Error(`METEOR: the WordNet synonym table ${path} is missing (regenerate it with tools/meteor/make-synonyms.ts)`);
  return SortedSynonymText.fromText(gunzipSync(readFileSync(path)).toString("utf8"));
}
