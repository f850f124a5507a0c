/**
 * resizeRgb against PIL's Image.resize for every filter a preprocessor_config.json may name
 * (goldens by tools/reference/resample_goldens.py: SHA-256 of PIL's RGB result, so equal
 * hashes mean a max abs diff of 0), enlarging and shrinking, odd and integer factors, 1 pixel.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { decodeImage } from "../../src/image/decode.js";
import { RESAMPLE_FILTERS, type ResampleFilter, resizeBicubicRgb, resizeRgb } from "../../src/image/resample.js";
import { fixturePath, readJson } from "../helpers/fixtures.js";

interface FilterSource {
  source: string;
  width: number;
  height: number;
  sha256: string;
  outputs: { width: number; height: number; sha256: Record<ResampleFilter, string> }[];
}

const { filters } = readJson<{ filters: FilterSource[] }>("goldens", "resample", "manifest.json");

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

const sources = new Map<string, Promise<Uint8Array>>();

/** The source's RGB bytes: a test image as emb decodes it, or a stored PNG. */
function sourcePixels(source: string): Promise<Uint8Array> {
  let pixels = sources.get(source);
  if (!pixels) {
    pixels = source.startsWith("images/")
      ? decodeImage(readFileSync(fixturePath(source))).then((d) => d.pixels)
      : sharp(fixturePath("goldens", "resample", `${source}.in.png`))
          .removeAlpha()
          .raw()
          .toBuffer();
    sources.set(source, pixels);
  }
  return pixels;
}

const rows = filters.flatMap((s) =>
  s.outputs.flatMap((o) => RESAMPLE_FILTERS.map((filter) => ({ s, o, filter, name: `${s.source} ${s.width}x${s.height} -> ${o.width}x${o.height}` }))),
);

describe("resizeRgb equals PIL's Image.resize for each filter", () => {
  it("has goldens for every filter, enlarging, shrinking and 1-pixel sizes", () => {
    expect(Object.keys(filters[0].outputs[0].sha256).sort()).toEqual([...RESAMPLE_FILTERS].sort());
    const outputs = filters.flatMap((s) => s.outputs.map((o) => ({ s, o })));
    expect(outputs.some(({ s, o }) => o.width > s.width && o.height > s.height)).toBe(true);
    expect(outputs.some(({ s, o }) => o.width < s.width && o.height < s.height)).toBe(true);
    expect(outputs.some(({ o }) => o.width === 1 && o.height === 1)).toBe(true);
    expect(filters.some((s) => s.width === 1 && s.height === 1)).toBe(true);
  });

  it.each(rows)("$filter: $name", async ({ s, o, filter }) => {
    const src = await sourcePixels(s.source);
    expect(sha256(src), "the source decodes as PIL decodes it").toBe(s.sha256);
    const out = resizeRgb(src, s.width, s.height, o.width, o.height, filter);
    expect(out.length).toBe(o.width * o.height * 3);
    expect(sha256(out)).toBe(o.sha256[filter]);
  });

  it("keeps bicubic on resizeBicubicRgb's path", async () => {
    const s = filters.find((f) => f.source === "images/large_1280x720.jpg")!;
    const src = await sourcePixels(s.source);
    expect(sha256(resizeBicubicRgb(src, s.width, s.height, 384, 384))).toBe(s.outputs[0].sha256.bicubic);
    const byDefault = resizeRgb(src, s.width, s.height, 384, 384);
    expect(Buffer.from(byDefault).equals(resizeBicubicRgb(src, s.width, s.height, 384, 384))).toBe(true);
  });

  it("copies the source when the size does not change, as PIL does for every filter", () => {
    const src = Uint8Array.from({ length: 4 * 3 * 3 }, (_, i) => (i * 37) & 255);
    for (const filter of RESAMPLE_FILTERS) expect(Array.from(resizeRgb(src, 4, 3, 4, 3, filter)), filter).toEqual(Array.from(src));
  });
});
