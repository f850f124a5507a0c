/**
 * Florence-2 post-processing: turns the decoded generation (special tokens kept, e.g.
 * "</s><s>car<loc_52><loc_332><loc_932><loc_774></s>") into the answer HF's
 * `Florence2Processor.post_process_generation` (transformers 4.57.1) returns, value for value.
 *
 * Fidelity notes, each checked against the Python processor (test/fixtures/goldens/florence2):
 * - Coordinates are ints: bin centres, (bin + 0.5) * size / 1000, computed in float32 as torch
 *   does and truncated. Bins past 999 are not clamped, so points may fall outside the image.
 * - Regexes follow Python `re` semantics: `\d` is any Unicode decimal digit, `\s` and strip()
 *   use Python's whitespace set, and `.` stops only at "\n".
 * - Box and grounding labels lose their non-ASCII characters (after stripping); OCR, polygon
 *   and plain-text answers keep them.
 */
import { pyStrip, taskSpec } from "./tasks.js";

export interface ImageSize {
  width: number;
  height: number;
}

/** x1, y1, x2, y2 in pixels of the image. */
export type Box = [number, number, number, number];
/** Four corners as x, y pairs, in the order the model wrote them. */
export type QuadBox = [number, number, number, number, number, number, number, number];
/** One ring as flat x, y pairs. */
export type Polygon = number[];

/** <OD>, <DENSE_REGION_CAPTION>, <REGION_PROPOSAL> (labels ""), <CAPTION_TO_PHRASE_GROUNDING>. */
export interface BoxesResult {
  bboxes: Box[];
  labels: string[];
}

/** <OCR_WITH_REGION>. */
export interface QuadBoxesResult {
  quad_boxes: QuadBox[];
  labels: string[];
}

/** The segmentation tasks: each object is one or more rings; labels are "". */
export interface PolygonsResult {
  polygons: Polygon[][];
  labels: string[];
}

/** <OPEN_VOCABULARY_DETECTION>: boxes or polygons, whichever the model answered with. */
export interface OpenVocabularyResult {
  bboxes: Box[];
  bboxes_labels: string[];
  polygons: Polygon[][];
  polygons_labels: string[];
}

export type TaskAnswer = string | BoxesResult | QuadBoxesResult | PolygonsResult | OpenVocabularyResult;

/**
 * Phrases <CAPTION_TO_PHRASE_GROUNDING> never reports: the post_processor_config Florence-2
 * checkpoints ship in processor_config.json.
 */
export const BANNED_GROUNDING_PHRASES: ReadonlySet<string> = new Set([
  "I",
  "a",
  "a group",
  "a set",
  "all",
  "an",
  "another",
  "any",
  "anybody",
  "anyone",
  "anything",
  "each",
  "each other",
  "everybody",
  "everyone",
  "everything",
  "few",
  "he",
  "her",
  "hers",
  "herself",
  "him",
  "himself",
  "his",
  "image",
  "images",
  "it",
  "its",
  "itself",
  "lots",
  "many",
  "me",
  "mine",
  "myself",
  "nobody",
  "none",
  "one",
  "one another",
  "oneself",
  "other objects",
  "our",
  "ours",
  "ourselves",
  "several",
  "she",
  "some",
  "somebody",
  "someone",
  "something",
  "that",
  "the",
  "the image",
  "their",
  "theirs",
  "them",
  "themselves",
  "these",
  "they",
  "this",
  "those",
  "us",
  "we",
  "what",
  "which",
  "who",
  "whom",
  "whose",
  "you",
  "your",
  "yours",
  "yourself",
  "yourselves",
]);

/** The answer with the task token as its key, as post_process_generation returns it. */
export function postProcess(task: string, generated: string, imageSize: ImageSize): Record<string, TaskAnswer> {
  return { [task]: parseAnswer(task, generated, imageSize) };
}

/** The answer alone. Throws TaskError for an unknown task. */
export function parseAnswer(task: string, generated: string, imageSize: ImageSize): TaskAnswer {
  switch (taskSpec(task).answer) {
    case "text":
      // Unlike the structured answers, plain text keeps any <pad>.
      return pyStrip(generated.replaceAll("<s>", "").replaceAll("</s>", ""));
    case "labelled_boxes":
      return toBoxesResult(parseBoxes(generated, imageSize, { labelRequired: true }));
    case "boxes":
      return toBoxesResult(parseBoxes(generated, imageSize, { labelRequired: false }));
    case "phrase_grounding":
      return toBoxesResult(parseBoxes(generated, imageSize, { labelRequired: true, banned: BANNED_GROUNDING_PHRASES }));
    case "quad_boxes":
      return parseQuadBoxes(generated, imageSize);
    case "polygons": {
      const found = parsePolygons(generated, imageSize, false);
      return { polygons: found.map((p) => p.polygons), labels: found.map((p) => p.label) };
    }
    case "boxes_or_polygons": {
      // The reference looks for <poly> before removing <s>/</s>/<pad>, so do the same.
      if (generated.includes("<poly>")) {
        const found = parsePolygons(generated, imageSize, true);
        return { bboxes: [], bboxes_labels: [], polygons: found.map((p) => p.polygons), polygons_labels: found.map((p) => p.label) };
      }
      const found = parseBoxes(generated, imageSize, { labelRequired: true });
      return { bboxes: found.map((b) => b.box), bboxes_labels: found.map((b) => b.label), polygons: [], polygons_labels: [] };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Coordinates

const BINS = 1000;
const INT32_MIN = -2147483648;
const INT64_MAX = 2n ** 63n - 1n;
const SINGLE_DIGIT = /^\p{Nd}$/u;

/** Python's int() of a `\d+` match; Infinity when torch could not hold it in int64. */
function parseBin(digits: string): number {
  let ascii = "";
  for (const ch of digits) ascii += digitValue(ch);
  const value = BigInt(ascii);
  return value > INT64_MAX ? Infinity : Number(value);
}

function digitValue(ch: string): number {
  const code = ch.codePointAt(0)!;
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  // Unicode assigns decimal digits in contiguous runs 0..9, so the value is the offset in the run.
  let start = code;
  while (SINGLE_DIGIT.test(String.fromCodePoint(start - 1))) start--;
  return (code - start) % 10;
}

/**
 * Bins at x, y, x, y... positions to pixels, as the reference computes them: an int64 tensor
 * plus 0.5 is float32, times size / 1000 (rounded to float32), then cast to int32.
 */
function dequantize(bins: number[], size: ImageSize): number[] {
  const perBin = [Math.fround(size.width / BINS), Math.fround(size.height / BINS)];
  return bins.map((bin, i) => {
    if (!Number.isFinite(bin)) throw new RangeError("a <loc_N> value is too large for a 64-bit integer");
    const value = Math.fround(Math.fround(bin + 0.5) * perBin[i % 2]);
    // float32 -> int32 truncates; out of range, x86 (where the goldens come from) gives INT32_MIN.
    return value > INT32_MIN - 1 && value < 2 ** 31 ? Math.trunc(value) : INT32_MIN;
  });
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** Python's `\s` (str.isspace). */
const WS = String.raw`[\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]`;
const LOC = String.raw`<loc_(\p{Nd}+)>`;
const ANY_LOC = String.raw`<loc_\p{Nd}+>`;

/** The label before the first location: it may not span a line break (Python's `.`). */
const BOX_LABEL = new RegExp(String.raw`^${WS}*[^\n]*?(?=<od>|</od>|<box>|</box>|<bbox>|</bbox>|<loc_)`, "u");
const POLYGON_LABEL = new RegExp(String.raw`^${WS}*[^\n]*?(?=<od>|</od>|<box>|</box>|<bbox>|</bbox>|<loc_|<poly>)`, "u");
const LABELLED_BOX_RUN = new RegExp(String.raw`[^<]+(?:${ANY_LOC}){4,}`, "gu");
const BOX_RUN = new RegExp(String.raw`(?:${ANY_LOC}){4,}`, "gu");
const BOX = new RegExp(LOC.repeat(4), "gu");
const QUAD_LINE = new RegExp(String.raw`([^\n]+?)${LOC.repeat(8)}`, "gu");
const POLYGON_TOKEN = String.raw`(?:${ANY_LOC}|<sep>|<poly>|</poly>)`;
const LABELLED_POLYGON_RUN = new RegExp(String.raw`[^<]+${POLYGON_TOKEN}{4,}`, "gu");
const POLYGON_RUN = new RegExp(String.raw`${POLYGON_TOKEN}{4,}`, "gu");
const POLY_GROUP = /<poly>([^\n]*?)<\/poly>/gu;
/** A ring ends at <sep> or at the end (Python's `$` also matches before a final "\n"). */
const RING = new RegExp(String.raw`((?:${ANY_LOC})+)(?:<sep>|(?=\n?$))`, "gu");
const LEADING_LOC = new RegExp(String.raw`^${ANY_LOC}`, "u");
const LOC_BIN = new RegExp(LOC, "gu");

function withoutSpecialTokens(text: string): string {
  return text.replaceAll("<s>", "").replaceAll("</s>", "").replaceAll("<pad>", "");
}

/** Python's .encode("ascii", "ignore").decode(). */
function asciiOnly(text: string): string {
  return text.replace(/[^\x00-\x7f]/gu, "");
}

interface LabelledBox {
  box: Box;
  label: string;
}

/**
 * Label + groups of four <loc_N>; each group is a box with that label. Locations left over
 * after the last full group are ignored; a label with fewer than four is dropped.
 */
function parseBoxes(generated: string, size: ImageSize, options: { labelRequired: boolean; banned?: ReadonlySet<string> }): LabelledBox[] {
  const out: LabelledBox[] = [];
  const runs = withoutSpecialTokens(generated).matchAll(options.labelRequired ? LABELLED_BOX_RUN : BOX_RUN);
  for (const [run] of runs) {
    const labelMatch = BOX_LABEL.exec(run);
    if (!labelMatch) continue;
    const stripped = pyStrip(labelMatch[0]);
    if (options.banned?.has(stripped)) continue;
    const label = asciiOnly(stripped);
    for (const group of run.matchAll(BOX)) {
      out.push({ box: dequantize(group.slice(1, 5).map(parseBin), size) as Box, label });
    }
  }
  return out;
}

function toBoxesResult(found: LabelledBox[]): BoxesResult {
  return { bboxes: found.map((b) => b.box), labels: found.map((b) => b.label) };
}

/** Text followed by eight <loc_N>; text may itself hold stray tokens, as in the reference. */
function parseQuadBoxes(generated: string, size: ImageSize): QuadBoxesResult {
  const result: QuadBoxesResult = { quad_boxes: [], labels: [] };
  // The reference's area filter is off: the shipped config names it in a case it does not read.
  for (const match of withoutSpecialTokens(generated).matchAll(QUAD_LINE)) {
    result.quad_boxes.push(dequantize(match.slice(2, 10).map(parseBin), size) as QuadBox);
    result.labels.push(pyStrip(match[1]));
  }
  return result;
}

interface LabelledPolygons {
  polygons: Polygon[];
  label: string;
}

/**
 * Runs of <loc_N>/<sep>/<poly>/</poly>. Each <poly>...</poly> is one object (the whole run when
 * there are none); within it <sep> separates rings, and a ring with an odd count drops its last
 * location.
 */
function parsePolygons(generated: string, size: ImageSize, labelRequired: boolean): LabelledPolygons[] {
  const out: LabelledPolygons[] = [];
  const runs = withoutSpecialTokens(generated).matchAll(labelRequired ? LABELLED_POLYGON_RUN : POLYGON_RUN);
  for (const [run] of runs) {
    // The reference looks for the label after dropping one leading location.
    const labelMatch = POLYGON_LABEL.exec(run.replace(LEADING_LOC, ""));
    if (!labelMatch) continue;
    const label = pyStrip(labelMatch[0]);
    const objects = run.includes("<poly>") && run.includes("</poly>") ? [...run.matchAll(POLY_GROUP)].map((m) => m[1]) : [run];
    for (const object of objects) {
      const rings = [...object.matchAll(RING)].map((ring) => {
        const bins = [...ring[1].matchAll(LOC_BIN)].map((m) => m[1]);
        return dequantize(bins.slice(0, bins.length - (bins.length % 2)).map(parseBin), size);
      });
      if (rings.length > 0) out.push({ polygons: rings, label });
    }
  }
  return out;
}
