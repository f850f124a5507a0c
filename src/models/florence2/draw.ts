/**
 * Draws Florence-2 results on their image, for `emb florence <TASK> --draw <dir>`.
 *
 * The result is the post-processed dictionary HF's Florence2Processor.post_process_generation
 * returns, keyed by task token. Rather than switching on the task, each value is drawn by its
 * shape: a string goes to a text band at the bottom, `bboxes` / `quad_boxes` become outlines,
 * `polygons` become tinted areas. That covers every task (and unknown ones) with one path.
 *
 * Everything is one SVG overlay composited by sharp onto the image as decoded with its EXIF
 * orientation applied, since Florence-2 coordinates are pixels of that oriented image.
 * Model output is untrusted: anything that cannot be drawn is skipped, never thrown on.
 */
import { makeFolder } from "../../io/directories.js";
import { dirname } from "node:path";
import sharp from "sharp";

export async function drawResult(image: string | Buffer, result: Record<string, unknown>, outPath: string): Promise<void> {
  // .rotate() with no angle applies EXIF orientation; autoOrient is the size after it.
  const meta = await sharp(image, { limitInputPixels: false }).metadata();
  const width = meta.autoOrient?.width ?? meta.width ?? 0;
  const height = meta.autoOrient?.height ?? meta.height ?? 0;
  const overlay = renderOverlay(collectDrawing(result), { width, height });
  makeFolder(dirname(outPath));
  const drawn = sharp(image, { limitInputPixels: false })
    .rotate()
    .composite([{ input: Buffer.from(overlay), top: 0, left: 0 }])
    // Coloured outlines need colour output even for grayscale or CMYK inputs.
    .toColourspace("srgb");
  // Compositing adds an alpha channel; an opaque image stays opaque (and smaller) without it.
  if (!meta.hasAlpha) drawn.removeAlpha();
  await drawn.png().toFile(outPath);
}

// ---------------------------------------------------------------------------------------------
// Reading the result into drawable shapes

type Point = [number, number];

interface Shape {
  kind: "outline" | "area";
  /** Closed rings; an outline has one, an object's segmentation may have several. */
  rings: Point[][];
  label: string;
}

interface Drawing {
  shapes: Shape[];
  texts: string[];
}

function collectDrawing(result: Record<string, unknown>): Drawing {
  const drawing: Drawing = { shapes: [], texts: [] };
  if (!isRecord(result)) return drawing;
  for (const value of Object.values(result)) {
    if (typeof value === "string") {
      if (value.trim() !== "") drawing.texts.push(value.trim());
    } else if (isRecord(value)) {
      drawing.shapes.push(...shapesOf(value));
    }
  }
  return drawing;
}

/** Shapes of one task's value; <OPEN_VOCABULARY_DETECTION> names its label lists per kind. */
function shapesOf(value: Record<string, unknown>): Shape[] {
  const shapes: Shape[] = [];
  const boxLabels = value.bboxes_labels ?? value.labels;
  const polygonLabels = value.polygons_labels ?? value.labels;
  eachItem(value.bboxes, boxLabels, (item, label) => {
    const ring = boxRing(item);
    if (ring) shapes.push({ kind: "outline", rings: [ring], label });
  });
  eachItem(value.quad_boxes, value.labels, (item, label) => {
    const ring = pointsOf(item, 4);
    if (ring && ring.length === 4) shapes.push({ kind: "outline", rings: [ring], label });
  });
  eachItem(value.polygons, polygonLabels, (item, label) => {
    const rings = polygonRings(item);
    if (rings.length > 0) shapes.push({ kind: "area", rings, label });
  });
  return shapes;
}

/** Calls `fn` for each item of a list with its label, tolerating a missing or shorter label list. */
function eachItem(items: unknown, labels: unknown, fn: (item: unknown, label: string) => void): void {
  if (!Array.isArray(items)) return;
  const labelList = Array.isArray(labels) ? labels : [];
  items.forEach((item, i) => fn(item, labelText(labelList[i])));
}

function labelText(label: unknown): string {
  if (typeof label === "string") return label.trim();
  if (typeof label === "number" && Number.isFinite(label)) return String(label);
  return "";
}

function boxRing(item: unknown): Point[] | undefined {
  const xy = pointsOf(item, 2);
  if (xy?.length !== 2) return undefined;
  const [[x1, y1], [x2, y2]] = xy;
  // Order the corners so a box given as (x2, y2, x1, y1) still draws.
  const [left, right] = [Math.min(x1, x2), Math.max(x1, x2)];
  const [top, bottom] = [Math.min(y1, y2), Math.max(y1, y2)];
  return [
    [left, top],
    [right, top],
    [right, bottom],
    [left, bottom],
  ];
}

/** An object's polygons: normally a list of flat x,y lists, but a single flat list is accepted too. */
function polygonRings(item: unknown): Point[][] {
  if (!Array.isArray(item)) return [];
  const lists = item.every((v) => typeof v === "number") ? [item] : item;
  const rings: Point[][] = [];
  for (const list of lists) {
    const ring = pointsOf(list);
    if (ring && ring.length >= 3) rings.push(ring);
  }
  return rings;
}

/**
 * A flat [x1, y1, x2, y2, ...] list as points, or undefined when it is not one: not an array,
 * a non-finite number, an odd count, or not exactly `count` points when a count is asked.
 */
function pointsOf(list: unknown, count?: number): Point[] | undefined {
  if (!Array.isArray(list) || list.length % 2 !== 0) return undefined;
  if (!list.every((v) => typeof v === "number" && Number.isFinite(v))) return undefined;
  if (count !== undefined && list.length !== count * 2) return undefined;
  const points: Point[] = [];
  for (let i = 0; i < list.length; i += 2) points.push([list[i], list[i + 1]]);
  return points;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Rendering the shapes as SVG

interface Size {
  width: number;
  height: number;
}

/** Sizes scale with the image so drawings read the same on a thumbnail and on a photo. */
interface Style {
  stroke: number;
  fontSize: number;
  pad: number;
}

/** Text width is estimated: the SVG is rendered without font metrics at hand. */
const CHAR_WIDTH = 0.65;
const AREA_OPACITY = 0.35;

function styleFor({ width, height }: Size): Style {
  const scale = Math.sqrt(width * height);
  const fontSize = clamp(Math.round(scale / 30), 10, 64);
  return { stroke: Math.max(2, Math.round(scale / 200)), fontSize, pad: Math.max(2, Math.round(fontSize / 4)) };
}

function renderOverlay(drawing: Drawing, size: Size): string {
  const style = styleFor(size);
  const colours = colourPicker();
  // Unlabelled shapes (<REGION_PROPOSAL>) each get their own colour instead of sharing one.
  const shapeColours = drawing.shapes.map((shape, i) => colours(shape.label === "" ? `\u0000${i}` : shape.label));
  const shapes = drawing.shapes.map((shape, i) => shapeSvg(shape, shapeColours[i], style));
  // Labels after all shapes, so no outline crosses a label.
  const labels = drawing.shapes.map((shape, i) => (shape.label === "" ? "" : labelSvg(shape.label, topLeft(shape.rings), shapeColours[i], size, style)));
  const band = drawing.texts.length > 0 ? textBandSvg(drawing.texts, size, style) : "";
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size.width}" height="${size.height}" font-family="DejaVu Sans, sans-serif">`,
    ...shapes,
    ...labels,
    band,
    "</svg>",
  ].join("\n");
}

function shapeSvg(shape: Shape, colour: string, style: Style): string {
  const fill = shape.kind === "area" ? `fill="${colour}" fill-opacity="${AREA_OPACITY}"` : `fill="none"`;
  return shape.rings
    .map((ring) => {
      const points = ring.map(([x, y]) => `${num(x)},${num(y)}`).join(" ");
      return `<polygon points="${points}" ${fill} stroke="${colour}" stroke-width="${style.stroke}" stroke-linejoin="round"/>`;
    })
    .join("\n");
}

/** A label on a filled background just above the shape, or just inside it at the image's top edge. */
function labelSvg(label: string, [x, y]: Point, colour: string, size: Size, style: Style): string {
  const boxWidth = label.length * style.fontSize * CHAR_WIDTH + 2 * style.pad;
  const boxHeight = style.fontSize + 2 * style.pad;
  const left = clamp(x, 0, Math.max(0, size.width - boxWidth));
  const top = y - boxHeight >= 0 ? y - boxHeight : clamp(y, 0, Math.max(0, size.height - boxHeight));
  return [
    `<rect x="${num(left)}" y="${num(top)}" width="${num(boxWidth)}" height="${num(boxHeight)}" fill="${colour}"/>`,
    `<text x="${num(left + style.pad)}" y="${num(top + style.pad + style.fontSize * 0.85)}" font-size="${style.fontSize}" fill="white">${escapeXml(label)}</text>`,
  ].join("\n");
}

/** Text results in a dark band across the bottom, wrapped to the width, at most 60% of the height. */
function textBandSvg(texts: string[], size: Size, style: Style): string {
  const lineHeight = Math.round(style.fontSize * 1.25);
  const perLine = Math.max(1, Math.floor((size.width - 2 * style.pad) / (style.fontSize * CHAR_WIDTH)));
  const maxLines = Math.max(1, Math.floor((size.height * 0.6 - 2 * style.pad) / lineHeight));
  const lines = truncateLines(
    texts.flatMap((text) => wrapText(text, perLine)),
    maxLines,
  );
  const bandHeight = lines.length * lineHeight + 2 * style.pad;
  const top = size.height - bandHeight;
  const textLines = lines.map(
    (line, i) =>
      `<text x="${style.pad}" y="${num(top + style.pad + i * lineHeight + style.fontSize * 0.85)}" font-size="${style.fontSize}" fill="white">${escapeXml(line)}</text>`,
  );
  return [`<rect x="0" y="${num(top)}" width="${size.width}" height="${num(bandHeight)}" fill="black" fill-opacity="0.65"/>`, ...textLines].join("\n");
}

/** Greedy word wrap; words longer than a line are cut, since captions can hold long tokens. */
function wrapText(text: string, perLine: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    for (let i = 0; i < word.length; i += perLine) {
      const piece = word.slice(i, i + perLine);
      if (line === "") line = piece;
      else if (line.length + 1 + piece.length <= perLine) line += ` ${piece}`;
      else {
        lines.push(line);
        line = piece;
      }
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

function truncateLines(lines: string[], maxLines: number): string[] {
  if (lines.length <= maxLines) return lines;
  const kept = lines.slice(0, maxLines);
  kept[maxLines - 1] = `${kept[maxLines - 1].slice(0, -1)}…`;
  return kept;
}

/** Top-left of the shape's bounding box (a loop: spreading a long polygon into Math.min overflows). */
function topLeft(rings: Point[][]): Point {
  let [left, top] = [Infinity, Infinity];
  for (const [x, y] of rings.flat()) [left, top] = [Math.min(left, x), Math.min(top, y)];
  return [left, top];
}

/** A stable colour per key, spread around the hue circle by the golden angle so neighbours differ. */
function colourPicker(): (key: string) => string {
  const assigned = new Map<string, string>();
  return (key) => {
    let colour = assigned.get(key);
    if (colour === undefined) {
      colour = `hsl(${Math.round((assigned.size * 137.508) % 360)}, 85%, 42%)`;
      assigned.set(key, colour);
    }
    return colour;
  };
}

/** Characters XML 1.0 does not allow at all; model text could hold them and would break the SVG. */
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function escapeXml(text: string): string {
  return text.replace(INVALID_XML, "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

/** SVG coordinates: rounded, and kept in a range whose numbers print without exponents. */
function num(value: number): string {
  return String(Math.round(clamp(value, -1e7, 1e7) * 100) / 100);
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
