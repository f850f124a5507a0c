/**
 * Self-contained HTML pages people open in a browser (search results, dedup contact sheets): one
 * file, thumbnails inlined as data URLs made with sharp, no script or style fetched from anywhere,
 * so a page can be mailed or archived and still shows what it showed.
 */
import sharp from "sharp";
import { readImageFile } from "../image/read-image-file.js";

/** Longest side of a thumbnail, in pixels (shown at half that size on a 2x screen). */
export const THUMBNAIL_SIZE = 192;

/** Text made safe to put between tags or inside a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export type Thumbnail = { src: string; width: number; height: number } | { error: string };

/**
 * A JPEG thumbnail of an image file as a data URL: upright (EXIF orientation applied), in sRGB
 * (CMYK and 16-bit files converted), transparency on white. A file that cannot be read or decoded
 * gives its error instead, for the page to show in the thumbnail's place.
 */
export async function thumbnail(path: string, size = THUMBNAIL_SIZE): Promise<Thumbnail> {
  try {
    const bytes = await readImageFile(path);
    const { data, info } = await sharp(bytes, { failOn: "none" })
      .rotate()
      .resize({ width: size, height: size, fit: "inside", withoutEnlargement: true })
      .flatten({ background: "#ffffff" })
      .toColourspace("srgb")
      .jpeg({ quality: 82 })
      .toBuffer({ resolveWithObject: true });
    return { src: `data:image/jpeg;base64,${data.toString("base64")}`, width: info.width, height: info.height };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** Thumbnails of many files, each made once, a few at a time. */
export async function thumbnails(paths: string[], concurrency = 4): Promise<Map<string, Thumbnail>> {
  const unique = [...new Set(paths)];
  const made = new Map<string, Thumbnail>();
  for (let i = 0; i < unique.length; i += concurrency) {
    const batch = unique.slice(i, i + concurrency);
    const done = await Promise.all(batch.map((p) => thumbnail(p)));
    batch.forEach((p, j) => made.set(p, done[j]));
  }
  return made;
}

/** An <img> for a thumbnail, or a box naming why there is none. */
export function thumbnailHtml(thumb: Thumbnail | undefined, alt: string): string {
  if (!thumb || "error" in thumb) {
    return `<div class="missing" title="${escapeHtml(thumb?.error ?? "no thumbnail")}">cannot show this file</div>`;
  }
  return `<img src="${thumb.src}" width="${thumb.width}" height="${thumb.height}" alt="${escapeHtml(alt)}" loading="lazy">`;
}

const STYLE = `
:root { color-scheme: light dark; --muted: #6b7280; --line: #d1d5db; --keep: #15803d; --drop: #b91c1c; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; }
.meta { color: var(--muted); margin: 0 0 16px; }
.grid { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; width: ${THUMBNAIL_SIZE / 2 + 60}px; }
figure img, .missing { display: block; width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
.query img { width: 96px; height: auto; border: 1px solid var(--line); border-radius: 4px; }
.missing { width: ${THUMBNAIL_SIZE / 2 + 58}px; height: 96px; display: flex; align-items: center; justify-content: center; color: var(--muted); font-size: 12px; }
figcaption { font-size: 12px; margin-top: 4px; overflow-wrap: anywhere; }
.score { font-variant-numeric: tabular-nums; font-weight: 600; }
.path { color: var(--muted); }
.query { display: flex; gap: 12px; align-items: center; }
.keep .tag { color: var(--keep); font-weight: 600; }
.drop .tag { color: var(--drop); font-weight: 600; }
.drop img { opacity: 0.75; }
`;

/** An HTML document: the head every emb page has, its own style, and a body. */
export function htmlDocument(title: string, style: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${style}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}

/**
 * A results page: a line about what it shows, the body, and the data it was made from as JSON
 * (in a script element browsers do not run) so scripts and tests can read the same numbers.
 */
export function htmlPage(title: string, meta: string, body: string, data: unknown): string {
  // "<" escaped so no string in the data can close the script element
  const json = JSON.stringify(data).replace(/</g, "\\u003c");
  return htmlDocument(title, STYLE, `<p class="meta">${meta}</p>\n${body}\n<script type="application/json" id="emb-data">${json}</script>`);
}
