/**
 * A COCO results file ([{"image_id": ..., "caption": ...}, ...]) written one caption at a time.
 * The file is a valid JSON array after every write: each entry sits on its own line and each
 * append replaces the closing bracket with the entry and a new bracket in one write. After a
 * kill mid-write, reopening keeps every complete entry line, so captioning resumes where it stopped.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../io/jsonl.js";
import { withoutBom } from "../../sources/text.js";
import { combineResultFiles } from "./annotations.js";
import type { ImageId } from "./types.js";

const CLOSE = "\n]\n";

export interface CocoResult {
  image_id: ImageId;
  caption: string;
}

export class CocoResultsWriter {
  private constructor(
    private readonly fd: number,
    private count: number,
    readonly previous: Map<ImageId, string>,
  ) {}

  /** Opens `path`, keeping the complete entries it holds. */
  static open(path: string): CocoResultsWriter {
    const entries = existsSync(path) ? readEntries(withoutBom(readFileSync(path, "utf8"))) : [];
    writeFileAtomic(path, renderResults(entries));
    const previous = new Map(entries.map((e) => [e.image_id, e.caption]));
    return new CocoResultsWriter(openSync(path, "r+"), entries.length, previous);
  }

  append(result: CocoResult): void {
    const size = fstatSync(this.fd).size;
    const text = `${this.count > 0 ? "," : ""}\n${JSON.stringify(result)}${CLOSE}`;
    writeSync(this.fd, text, size - CLOSE.length);
    this.count++;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** A results file of these entries, one per line (the layout CocoResultsWriter appends to). */
export function renderResults(entries: CocoResult[]): string {
  return `[${entries.map((e) => `\n${JSON.stringify(e)}`).join(",")}${CLOSE}`;
}

/** The complete entries of a (possibly torn) results file: one object per line. */
function readEntries(text: string): CocoResult[] {
  try {
    const parsed = JSON.parse(text);
    if (Array.isArray(parsed)) return parsed;
  } catch {
    // A torn write: fall back to the lines that parse.
  }
  const entries: CocoResult[] = [];
  for (const line of text.split("\n")) {
    const body = line.trim().replace(/^,/, "").replace(/,$/, "");
    if (!body.startsWith("{")) continue;
    try {
      entries.push(JSON.parse(body));
    } catch {
      // the torn last entry
    }
  }
  return entries;
}

/** Whether a source is a COCO results file, or a folder holding one (emb coco eval's --out), rather than a run's output folder. */
export function isCocoResultsSource(source: string): boolean {
  const info = statSync(source, { throwIfNoEntry: false });
  if (!info) return false;
  if (!info.isDirectory()) return source.endsWith(".json");
  return existsSync(join(source, "results.json")) && !existsSync(join(source, "embeddings.npy")) && !existsSync(join(source, "results.jsonl"));
}

/** Writes the entries of several results files (or folders holding one) as one results.json in `dir`; returns how many. */
export function writeCombinedResults(sources: string[], dir: string): number {
  const entries = combineResultFiles(sources) as CocoResult[];
  writeFileAtomic(join(dir, "results.json"), renderResults(entries));
  return entries.length;
}
