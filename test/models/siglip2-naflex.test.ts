/**
 * SigLIP 2 NaFlex preprocessing against transformers' Siglip2ImageProcessor (goldens by
 * tools/reference/siglip2_naflex_goldens.py): the patch grid on a sweep of sizes, and the
 * pixel values, mask and grid of test images.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeAndResize, decodeImage } from "../../src/image/decode.js";
import { modelPixels } from "../../src/image/normalize.js";
import { resizeRgb } from "../../src/image/resample.js";
import { ModelLayoutError } from "../../src/models/common/layout.js";
import { patchGrid, unpackPatches } from "../../src/image/patches.js";
import { type NaflexConfig, naflexPatches, readNaflexConfig } from "../../src/models/siglip2/naflex.js";
import { fixturePath, maxAbsDiff, readJson, readNpy } from "../helpers/fixtures.js";

const DIR = "goldens/siglip2-naflex";

interface GridGolden {
  patch_size: number;
  sizes: number[];
  grids: Record<string, number[]>;
  dense: { start: number; stop: number; step: number; max_num_patches: number[]; sha256: string };
}

interface Run {
  max_num_patches: number;
  spatial_shape: [number, number];
  mask_sum: number;
  resized_sha256: string;
  pixel_values?: string;
}

interface Manifest {
  processor: Record<string, unknown>;
  images: { image: string; width: number; height: number; source_sha256: string; runs: Run[] }[];
}

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

describe("patchGrid", () => {
  const golden = readJson<GridGolden>(DIR, "grid.json");
  const p = golden.patch_size;

  it("gives the processor's grid for every stored (width, height, max_num_patches)", () => {
    for (const [mnp, flat] of Object.entries(golden.grids)) {
      let i = 0;
      const wrong: string[] = [];
      for (const w of golden.sizes) {
        for (const h of golden.sizes) {
          const got = patchGrid(w, h, p, Number(mnp));
          const [gh, gw] = [flat[i++], flat[i++]];
          if (got.height !== gh * p || got.width !== gw * p) wrong.push(`${w}x${h}@${mnp}: ${got.width}x${got.height}, not ${gw * p}x${gh * p}`);
        }
      }
      expect(wrong.slice(0, 5)).toEqual([]);
      expect(i).toBe(flat.length);
    }
  });

  it("matches the processor's grids on the dense sweep (hash)", () => {
    const { start, stop, step, max_num_patches, sha256: expected } = golden.dense;
    const hash = createHash("sha256");
    for (let w = start; w <= stop; w += step) {
      for (let h = start; h <= stop; h += step) {
        for (const mnp of max_num_patches) {
          const got = patchGrid(w, h, p, mnp);
          hash.update(`${w} ${h} ${mnp} ${got.height / p} ${got.width / p}\n`);
        }
      }
    }
    expect(hash.digest("hex")).toBe(expected);
  });
});

describe("naflexPatches", () => {
  const manifest = readJson<Manifest>(DIR, "manifest.json");
  const base = readNaflexConfig(manifest.processor);

  for (const entry of manifest.images) {
    it(`preprocesses ${entry.image} as the processor does`, async () => {
      const rgb = await decodeImage(readFileSync(fixturePath("images", entry.image)));
      expect([rgb.width, rgb.height]).toEqual([entry.width, entry.height]);
      expect(sha256(rgb.pixels)).toBe(entry.source_sha256); // else the decoder differs, not this
      for (const run of entry.runs) {
        const config: NaflexConfig = { ...base, maxNumPatches: run.max_num_patches };
        const out = naflexPatches(rgb.pixels, rgb.width, rgb.height, config);
        const [gh, gw] = run.spatial_shape;
        expect(out.spatialShape, `${run.max_num_patches}`).toEqual([gh, gw]);
        const resized = resizeRgb(rgb.pixels, rgb.width, rgb.height, gw * 16, gh * 16, "bilinear");
        expect(sha256(resized)).toBe(run.resized_sha256);
        expect(out.attentionMask.length).toBe(run.max_num_patches);
        expect(Array.from(out.attentionMask)).toEqual(Array.from({ length: run.max_num_patches }, (_, i) => (i < run.mask_sum ? 1 : 0)));
        expect(out.pixelValues.length).toBe(run.max_num_patches * 16 * 16 * 3);
        if (run.pixel_values) {
          const expected = readNpy(DIR, run.pixel_values);
          expect(expected.shape).toEqual([run.max_num_patches, 768]);
          // exact: the same float32 roundings as numpy
          expect(maxAbsDiff(out.pixelValues, expected.data as Float32Array)).toBe(0);
        }
      }
    });
  }
});

describe("the decode stage's packed patches", () => {
  const manifest = readJson<Manifest>(DIR, "manifest.json");
  const config = readNaflexConfig(manifest.processor);

  for (const entry of manifest.images) {
    it(`gives ${entry.image} the processor's patches and grid, unpadded, through decodeAndResize and modelPixels`, async () => {
      const bytes = readFileSync(fixturePath("images", entry.image));
      for (const run of entry.runs.filter((r) => r.pixel_values)) {
        const preprocessing = {
          width: 0,
          height: 0,
          resample: config.resample,
          rescale: config.rescale,
          mean: config.mean,
          std: config.std,
          rounding: "processor" as const,
          patches: { size: 16, maxPatches: run.max_num_patches },
        };
        const { gridH, gridW, patches } = unpackPatches(modelPixels(await decodeAndResize(bytes, preprocessing), preprocessing));
        expect([gridH, gridW]).toEqual(run.spatial_shape);
        const expected = readNpy(DIR, run.pixel_values as string).data as Float32Array;
        expect(patches.length).toBe(run.mask_sum * 768);
        expect(maxAbsDiff(patches, expected.subarray(0, run.mask_sum * 768))).toBe(0);
      }
    });
  }
});

describe("readNaflexConfig", () => {
  const naflex = {
    do_convert_rgb: null,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_processor_type: "Siglip2ImageProcessor",
    image_std: [0.5, 0.5, 0.5],
    max_num_patches: 256,
    patch_size: 16,
    processor_class: "Siglip2Processor",
    resample: 2,
    rescale_factor: 0.00392156862745098,
  };

  it("reads a naflex checkpoint's config, and the processor's defaults when keys are absent", () => {
    const expected = { patchSize: 16, maxNumPatches: 256, rescale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], resample: "bilinear" };
    expect(readNaflexConfig(naflex)).toEqual(expected);
    expect(readNaflexConfig({})).toEqual(expected);
    expect(readNaflexConfig({ ...naflex, resample: 3, image_mean: 0.25, max_num_patches: 1024 })).toMatchObject({
      resample: "bicubic",
      mean: [0.25, 0.25, 0.25],
      maxNumPatches: 1024,
    });
    expect(readNaflexConfig({ do_rescale: false, do_normalize: false })).toMatchObject({ rescale: 1, mean: [0, 0, 0], std: [1, 1, 1] });
  });

  it("refuses, in one sentence, what it cannot do as the processor does", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ do_resize: false }, /do_resize false/],
      [{ image_processor_type: "Siglip2ImageProcessorFast" }, /Siglip2ImageProcessorFast/],
      [{ resample: 7 }, /resample 7/],
      [{ max_num_patches: 0 }, /max_num_patches 0/],
      [{ patch_size: 15.5 }, /patch_size 15.5/],
      [{ image_mean: [0.5, 0.5] }, /image_mean/],
    ];
    for (const [raw, message] of cases) {
      expect(() => readNaflexConfig({ ...naflex, ...raw })).toThrow(ModelLayoutError);
      expect(() => readNaflexConfig({ ...naflex, ...raw })).toThrow(message);
    }
  });

  it("lays out patches row by row, each (y, x, channel), and pads with zeros", () => {
    // 32x16 image, 2 patches of 16: pixel (x, y) channel c holds x + 2 * c (y-independent)
    const rgb = new Uint8Array(32 * 16 * 3);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) rgb[(y * 32 + x) * 3 + c] = x + 2 * c;
    const config = { ...readNaflexConfig({}), maxNumPatches: 3, rescale: 1, mean: [0, 0, 0], std: [1, 1, 1] } as NaflexConfig;
    const out = naflexPatches(rgb, 32, 16, config);
    expect(out.spatialShape).toEqual([1, 2]);
    expect(Array.from(out.attentionMask)).toEqual([1, 1, 0]);
    // second patch, row 5, x 3 within it, channel 2: image x = 19
    expect(out.pixelValues[768 + (5 * 16 + 3) * 3 + 2]).toBe(19 + 4);
    expect(out.pixelValues.subarray(2 * 768).every((v) => v === 0)).toBe(true);
  });
});
