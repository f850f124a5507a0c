/**
 * Readers for `emb embed text` input: captions from arguments, a text file (one per line), a
 * JSONL file (a text field per line) or stdin; and pre-tokenised id rows in the shapes people
 * already have (a JSON array of rows, JSONL rows, or perf_analyzer's --input-data file).
 */
import { closeSync, openSync, readSync } from "node:fs";

export interface Caption {
  /** 0-based position in the input: rows and resume keys follow it. */
  line: number;
  text: string;
}

export class InputError extends Error {}

/**
 * The text without a leading byte order mark, which Windows editors write at the start of UTF-8
 * files: harmless, so taken off (as Python's utf-8-sig does) rather than read as part of the
 * first caption, label or JSON value.
 */
export function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Captions from a .txt file (every line, blank ones included) or a .jsonl file (`field` of each). */
export function parseCaptionFile(content: string, name: string, field: string): Caption[] {
  const lines = withoutBom(content)
    .replace(/\r?\n$/, "")
    .split(/\r?\n/);
  if (!name.endsWith(".jsonl")) return lines.map((text, line) => ({ line, text }));
  return lines.map((raw, line) => {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      throw new InputError(`${name} line ${line + 1} is not JSON: ${raw.slice(0, 80)}`);
    }
    const text = (value as Record<string, unknown>)?.[field];
    if (typeof text !== "string") {
      throw new InputError(`${name} line ${line + 1} has no string field "${field}"; choose the field with --field`);
    }
    return { line, text };
  });
}

export function readCaptionFile(path: string, field: string): Caption[] {
  return parseCaptionFile(readInputFile(path, "--file"), path, field);
}

/** A text input file's content, a leading BOM taken off; a missing or unreadable one is an InputError naming the flag and the file. */
/**
 * The most bytes a text input may hold: about the longest string JavaScript can make, so a larger
 * file could not be read anyway, and a device that never ends (`--file /dev/zero`) stops here
 * instead of filling memory.
 */
export const MAX_TEXT_INPUT_BYTES = 512 * 2 ** 20;

/** A file's bytes, read in pieces up to `limit` (pipes and process substitutions included: they have no size to check first). */
function readBounded(path: string, flag: string, limit: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const pieces: Buffer[] = [];
    let total = 0;
    for (;;) {
      const piece = Buffer.allocUnsafe(Math.min(1 << 20, limit + 1 - total));
      const read = readSync(fd, piece, 0, piece.length, null);
      if (read === 0) return Buffer.concat(pieces, total);
      pieces.push(piece.subarray(0, read));
      total += read;
      if (total > limit) {
        throw new InputError(`${flag} ${path}: more than ${limit / 2 ** 20} MiB, more than a text input can hold; split it into smaller files`);
      }
    }
  } finally {
    closeSync(fd);
  }
}

export function readInputFile(path: string, flag: string, limit = MAX_TEXT_INPUT_BYTES): string {
  try {
    return withoutBom(readBounded(path, flag, limit).toString("utf8"));
  } catch (error) {
    if (error instanceof InputError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a folder, not a file" : (error as Error).message;
    throw new InputError(`${flag} ${path}: ${reason}`);
  }
}

/**
 * Token id rows, validated: each exactly `length` integers in [0, vocabSize). Accepts a JSON
 * array of rows, JSONL with one row per line, or perf_analyzer's {"data": [{"INPUT_IDS": ...}]}.
 */
export function parseIdRows(content: string, name: string, length: number, vocabSize: number): number[][] {
  const rows = extractRows(content, name);
  rows.forEach((row, r) => {
    if (!Array.isArray(row)) throw new InputError(`${name}: row ${r} is not an array of token ids`);
    if (row.length !== length) {
      throw new InputError(`${name}: row ${r} has ${row.length} ids; the model takes exactly ${length} (pad with the pad id)`);
    }
    row.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw new InputError(`${name}: row ${r}, position ${i}: ${JSON.stringify(id)} is not a token id of this model (0..${vocabSize - 1})`);
      }
    });
  });
  return rows as number[][];
}

function extractRows(content: string, name: string): unknown[] {
  const trimmed = content.trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    try {
      return trimmed
        .split(/\r?\n/)
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l));
    } catch {
      throw new InputError(`${name} is neither JSON nor JSON Lines`);
    }
  }
  if (Array.isArray(parsed)) return parsed;
  const data = (parsed as { data?: unknown })?.data;
  if (Array.isArray(data)) {
    // perf_analyzer input data: each entry maps the input name to ids or to {content, shape}.
    return data.map((entry, i) => {
      const value = Object.values(entry as Record<string, unknown>)[0];
      const content = (value as { content?: unknown })?.content ?? value;
      if (!Array.isArray(content)) throw new InputError(`${name}: data[${i}] holds no id array`);
      return content;
    });
  }
  throw new InputError(`${name}: expected an array of id rows or perf_analyzer's {"data": [...]}`);
}
