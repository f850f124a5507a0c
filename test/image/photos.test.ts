/**
 * Decoding matches PIL on what cameras, phones, scanners and editors write. For every file in
 * test/fixtures/photos (built by tools/reference/make_photos.py, one per kind), the pixels
 * decodeImage returns before any resizing are compared with PIL's
 * `ImageOps.exif_transpose(Image.open(f)).convert("RGB")`, stored losslessly in
 * test/fixtures/goldens/photos. Files PIL cannot open must be refused, not rendered.
 */
import { readFileSync } from "node:fs";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { decodeAndResize, decodeImage, ImageDecodeError, type ColorManagement } from "../../src/image/decode.js";
import { normalizePixels, type ImagePreprocessing } from "../../src/image/normalize.js";
import { PreparePool } from "../../src/image/prepare-pool.js";
import { fixturePath, maxAbsDiff, readJson } from "../helpers/fixtures.js";

interface PhotoEntry {
  kind: string;
  file: string;
  note: string;
  pil: { readable: boolean; error?: string };
  size?: [number, number];
  pixels?: string;
  resized?: string;
  srgb?: string;
}

const manifest = readJson<{ photos: PhotoEntry[] }>("goldens", "photos", "manifest.json");
/** What PIL reads and emb refuses with a reason rather than reading differently (docs/models.md). */
const EMB_REFUSES: Record<string, RegExp> = {
  "tiff-grey12": /12-bit TIFF images are not supported by emb/,
  "tiff-cielab": /CIELab TIFF images are not supported by emb/,
  "tiff-tiled-planar": /tiled TIFF images with separate colour planes are not supported by emb/,
  "tiff-old-jpeg": /old-style JPEG-compressed TIFF images \(compression 6\) are not supported by emb/,
  "avif-sequence-no-still-brand": /AVIF sequence \(without a still image\) images are not supported by emb/,
};
const readable = manifest.photos.filter((p) => p.pil.readable && !EMB_REFUSES[p.kind]);
const embRefuses = manifest.photos.filter((p) => p.pil.readable && EMB_REFUSES[p.kind]);
const refused = manifest.photos.filter((p) => !p.pil.readable);

/**
 * Largest difference from PIL's pixels, per kind; every kind not listed must be exact (0).
 * AVIF: PIL decodes through libavif, sharp through libheif. The AV1 planes are identical, but
 * libavif upsamples 4:2:0 chroma bilinearly and libheif by repeating samples, which shows at
 * colour edges (86 levels at most on the photo-like fixture, most pixels within 5; 160 where
 * saturated primaries meet); at 4:4:4 only the YCbCr -> RGB rounding differs (1 level). sharp
 * exposes neither the planes nor an upsampling option, so this is the bound rather than 0.
 */
const MAX_DIFF: Record<string, number> = {
  "avif-420": 86,
  "avif-420-saturated": 160,
  "avif-sequence": 59, // the sequence's still image, decoded as a 4:2:0 still
  "avif-sequence-444": 1,
  "avif-444": 1,
  "avif-exif-orientation": 1,
};

/** A golden PNG's pixels as stored (goldens carry no profile; ignoreIcc in case one ever does). */
async function golden(name: string): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(fixturePath("goldens", "photos", name), { ignoreIcc: true })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

function photo(file: string): Buffer {
  return readFileSync(fixturePath("photos", file));
}

describe("decodeImage matches PIL's decode on every kind of photo", () => {
  it("covers the kinds the fixture script writes", () => {
    expect(readable.length).toBeGreaterThanOrEqual(60);
    expect(refused.map((p) => p.kind).sort()).toEqual([
      "apng-fdat-before-idat",
      "apng-frame-outside",
      "apng-sequence-error",
      "bmp-2",
      "png-bad-checksum-before-data",
      "png-iccp-no-method",
      "png-last-idat-cut",
      "png-text-after-data-cut",
      "svg",
      "tiff-rgb-no-photometric",
      "tiff-rgb-signed",
    ]);
    expect(embRefuses.map((p) => p.kind).sort()).toEqual(Object.keys(EMB_REFUSES).sort());
    for (const kind of Object.keys(MAX_DIFF)) expect(readable.map((p) => p.kind)).toContain(kind);
  });

  it.each(readable)("$kind ($file)", async (entry) => {
    const decoded = await decodeImage(photo(entry.file));
    const expected = await golden(entry.pixels!);
    expect([decoded.width, decoded.height]).toEqual(entry.size);
    expect([decoded.width, decoded.height]).toEqual([expected.width, expected.height]);
    expect(maxAbsDiff(decoded.pixels, expected.data)).toBeLessThanOrEqual(MAX_DIFF[entry.kind] ?? 0);
  });

  it.each(refused)("$kind ($file): PIL cannot read it, so it is refused", async (entry) => {
    const error = await decodeImage(photo(entry.file)).catch((e) => e);
    expect(error).toBeInstanceOf(ImageDecodeError);
    expect(error.reason).toBe("unreadable");
  });

  it.each(embRefuses)("$kind ($file): PIL reads it, emb refuses it with the reason", async (entry) => {
    const error = await decodeImage(photo(entry.file)).catch((e) => e);
    expect(error).toBeInstanceOf(ImageDecodeError);
    expect(error.reason).toBe("unreadable");
    expect(error.message).toMatch(EMB_REFUSES[entry.kind]);
  });

  it("names the reason for what it refuses", async () => {
    await expect(decodeImage(photo("drawing.svg"))).rejects.toThrow(/SVG images are not supported: the Python reference \(PIL\) cannot read them/);
    await expect(decodeImage(photo("two_bit.bmp"))).rejects.toThrow(/Unsupported BMP pixel depth \(2\)/);
    await expect(decodeImage(photo("apng_sequence_error.png"))).rejects.toThrow(
      /the file is damaged \(APNG contains frame sequence errors; PIL cannot read it either\)/,
    );
    await expect(decodeImage(photo("rgb_signed.tif"))).rejects.toThrow(
      /signed or floating-point colour samples are not supported: the Python reference \(PIL\) cannot read them/,
    );
    await expect(decodeImage(photo("text_after_data_cut.png"))).rejects.toThrow(/its tEXt chunk after the image data is cut short/);
    const ppm = Buffer.concat([Buffer.from("P6\n2 1\n255\n"), Buffer.from([255, 0, 0, 0, 255, 0])]);
    await expect(decodeImage(ppm)).rejects.toThrow(/PNM \(PBM\/PGM\/PPM\) images are not supported/);
  });

  it("refuses truncated BMPs, as PIL does", async () => {
    for (const entry of readable.filter((p) => p.file.endsWith(".bmp"))) {
      const bytes = photo(entry.file);
      for (const length of [1, 2, 10, 20, 60, Math.floor(bytes.length * 0.6)]) {
        const error = await decodeImage(bytes.subarray(0, length)).catch((e) => e);
        expect(error, `${entry.file} cut at ${length}`).toBeInstanceOf(ImageDecodeError);
        expect(error.reason).toBe("unreadable");
      }
    }
  });

  it("reads a BMP whose last row lacks its padding, but not one cut into its pixels, as PIL", async () => {
    // rgb24.bmp: 61 pixels, 183 bytes + 1 byte of padding a row; palette8.bmp: 61 + 3
    for (const [file, missing] of [
      ["rgb24.bmp", 1],
      ["palette8.bmp", 3],
    ] as const) {
      const bytes = photo(file);
      const whole = await decodeImage(bytes);
      expect(maxAbsDiff((await decodeImage(bytes.subarray(0, bytes.length - missing))).pixels, whole.pixels), file).toBe(0);
      const error = await decodeImage(bytes.subarray(0, bytes.length - missing - 1)).catch((e) => e);
      expect(error, file).toBeInstanceOf(ImageDecodeError);
      expect(error.message).toMatch(/image file is truncated/);
    }
  });

  it("applies the decompression bomb guard to BMP too", async () => {
    const error = await decodeImage(photo("rgb24.bmp"), { maxPixels: 1000 }).catch((e) => e);
    expect(error).toBeInstanceOf(ImageDecodeError);
    expect(error.reason).toBe("too-large");
    expect(error.message).toMatch(/61x41 = 2501 pixels, over the limit of 1000/);
  });
});

describe("decodeAndResize on photos", () => {
  const resized = readable.filter((p) => p.resized);
  it("has resized goldens for a few kinds", () => expect(resized.length).toBeGreaterThanOrEqual(2));

  it.each(resized)("$kind at 384x384 equals PIL's bicubic resize of PIL's decode", async (entry) => {
    const out = await decodeAndResize(photo(entry.file), { width: 384, height: 384 });
    expect([out.sourceWidth, out.sourceHeight]).toEqual(entry.size);
    expect(maxAbsDiff(out.pixels, (await golden(entry.resized!)).data)).toBe(0);
  });

  it("still takes the pixel limit alone as its third argument", async () => {
    const error = await decodeAndResize(photo("rgb24.bmp"), { width: 8, height: 8 }, { maxPixels: 1000 }).catch((e) => e);
    expect(error.reason).toBe("too-large");
  });
});

describe("colorManagement", () => {
  const withProfile = readable.filter((p) => p.srgb);
  it("has photos with embedded profiles", () => expect(withProfile.map((p) => p.kind)).toContain("jpeg-icc-display-p3"));

  it("ignores embedded profiles by default, as PIL does", async () => {
    const bytes = photo("icc_display_p3.jpg");
    const byDefault = await decodeImage(bytes);
    const none = await decodeImage(bytes, { colorManagement: "none" });
    expect(maxAbsDiff(byDefault.pixels, none.pixels)).toBe(0);
    expect(maxAbsDiff(none.pixels, (await golden("icc_display_p3.jpg.png")).data)).toBe(0);
  });

  /**
   * "srgb" converts through the embedded profile as lcms does through PIL's ImageCms
   * (perceptual): within 1 level for 8-bit images. For the 16-bit PNG the golden converts PIL's
   * 8-bit high bytes while sharp converts all 16 bits; truncating instead of rounding the input
   * alone moves lcms's output by up to 13 levels there, and the two differ by 8 at most.
   */
  const SRGB_MAX_DIFF: Record<string, number> = { "png-rgb16-iccp": 8 };

  it.each(withProfile)('$kind: "srgb" converts to sRGB through the embedded profile', async (entry) => {
    const bytes = photo(entry.file);
    const srgb = await decodeImage(bytes, { colorManagement: "srgb" });
    const none = await decodeImage(bytes, { colorManagement: "none" });
    expect(maxAbsDiff(srgb.pixels, none.pixels)).toBeGreaterThan(50); // saturated primaries move a lot
    expect(maxAbsDiff(srgb.pixels, (await golden(entry.srgb!)).data)).toBeLessThanOrEqual(SRGB_MAX_DIFF[entry.kind] ?? 1);
  });

  it("leaves images without a profile as they are", async () => {
    for (const file of ["subsampling_420.jpg", "cmyk_adobe.jpg", "rgb16.png", "palette_trns.png"]) {
      const srgb = await decodeImage(photo(file), { colorManagement: "srgb" });
      const none = await decodeImage(photo(file));
      expect(maxAbsDiff(srgb.pixels, none.pixels), file).toBe(0);
    }
  });

  it("reaches the preparation workers", async () => {
    const preprocessing: ImagePreprocessing = { width: 24, height: 24, rescale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], resample: "bicubic" };
    const path = fixturePath("photos", "icc_display_p3.jpg");
    const pool = new PreparePool(1);
    try {
      for (const colorManagement of [undefined, "none", "srgb"] as (ColorManagement | undefined)[]) {
        const reply = await pool.prepare(path, preprocessing, { colorManagement });
        if (!reply.ok) throw new Error(reply.error);
        const expected = await decodeAndResize(readFileSync(path), preprocessing, { colorManagement });
        expect(maxAbsDiff(reply.pixels, normalizePixels(expected.pixels, preprocessing)), String(colorManagement)).toBe(0);
      }
    } finally {
      await pool.close();
    }
  });

  it("rejects an unknown mode", async () => {
    await expect(decodeImage(photo("rgb24.bmp"), { colorManagement: "p3" as never })).rejects.toThrow(/unknown colorManagement/);
  });
});
