/**
 * CLIP's and DINOv2's preprocessing (shortest-edge resize, center crop, rescale, normalise)
 * against transformers' CLIPImageProcessor and BitImageProcessor (goldens by
 * tools/reference/clip_dinov2_preprocess_goldens.py): the resized size on a sweep, and per test
 * image the resized and cropped pixels and pixel_values, exactly.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeImage } from "../../src/image/decode.js";
import { resizeRgb } from "../../src/image/resample.js";
import { ModelLayoutError } from "../../src/models/common/layout.js";
import { centerCrop, centerCropOffset, shortestEdgeSize } from "../../src/image/crop.js";
import { prepareShortestEdgeCrop, readShortestEdgeCropConfig } from "../../src/models/common/shortest-edge.js";
import { fixturePath, maxAbsDiff, readJson, readNpy } from "../helpers/fixtures.js";

const DIR = "goldens/clip-dinov2";

interface SizesGolden {
  sizes: number[];
  shortest_edges: number[];
  resized: Record<string, number[]>;
  dense: { start: number; stop: number; step: number; shortest_edges: number[]; sha256: string };
}

interface Run {
  image: string;
  width: number;
  height: number;
  source_sha256: string;
  resized: [number, number];
  resized_sha256: string;
  crop_offset?: [number, number];
  cropped_sha256?: string;
  pixel_values_shape: [number, number, number];
  pixel_values_sha256: string;
  pixel_values?: string;
}

interface Manifest {
  settings: Record<string, { preprocessor_config: Record<string, unknown>; runs: Run[] }>;
}

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

describe("shortestEdgeSize", () => {
  const golden = readJson<SizesGolden>(DIR, "sizes.json");

  it("gives the processor's size for every stored (width, height, shortest edge)", () => {
    for (const [edge, flat] of Object.entries(golden.resized)) {
      let i = 0;
      const wrong: string[] = [];
      for (const w of golden.sizes) {
        for (const h of golden.sizes) {
          const got = shortestEdgeSize(w, h, Number(edge));
          const [ew, eh] = [flat[i++], flat[i++]];
          if (got.width !== ew || got.height !== eh) wrong.push(`${w}x${h}@${edge}: ${got.width}x${got.height}, not ${ew}x${eh}`);
        }
      }
      expect(wrong.slice(0, 5)).toEqual([]);
      expect(i).toBe(flat.length);
    }
  });

  it("matches the processor's sizes on the dense sweep (hash)", () => {
    const { start, stop, step, shortest_edges, sha256: expected } = golden.dense;
    const hash = createHash("sha256");
    for (let w = start; w <= stop; w += step) {
      for (let h = start; h <= stop; h += step) {
        for (const edge of shortest_edges) {
          const got = shortestEdgeSize(w, h, edge);
          hash.update(`${w} ${h} ${edge} ${got.width} ${got.height}\n`);
        }
      }
    }
    expect(hash.digest("hex")).toBe(expected);
  });
});

describe("prepareShortestEdgeCrop", () => {
  const manifest = readJson<Manifest>(DIR, "manifest.json");

  for (const [setting, { preprocessor_config, runs }] of Object.entries(manifest.settings)) {
    const config = readShortestEdgeCropConfig(preprocessor_config);
    for (const run of runs) {
      it(`${setting}: preprocesses ${run.image} as the processor does`, async () => {
        const rgb = await decodeImage(readFileSync(fixturePath("images", run.image)));
        expect([rgb.width, rgb.height]).toEqual([run.width, run.height]);
        expect(sha256(rgb.pixels)).toBe(run.source_sha256); // else the decoder differs, not this
        const size = shortestEdgeSize(rgb.width, rgb.height, config.shortestEdge);
        expect([size.width, size.height]).toEqual(run.resized);
        const resized = resizeRgb(rgb.pixels, rgb.width, rgb.height, size.width, size.height, config.resample);
        expect(sha256(resized)).toBe(run.resized_sha256);
        if (config.crop) {
          const offset = centerCropOffset(size.width, size.height, config.crop.width, config.crop.height);
          expect([offset.left, offset.top]).toEqual(run.crop_offset);
          expect(sha256(centerCrop(resized, size.width, size.height, config.crop.width, config.crop.height))).toBe(run.cropped_sha256);
        } else expect(run.crop_offset).toBeUndefined();
        const out = prepareShortestEdgeCrop(rgb.pixels, rgb.width, rgb.height, config);
        expect([3, out.height, out.width]).toEqual(run.pixel_values_shape);
        // exact: the same float32 roundings as numpy, to the bit
        expect(sha256(new Uint8Array(out.pixelValues.buffer))).toBe(run.pixel_values_sha256);
        if (run.pixel_values) {
          const expected = readNpy(DIR, run.pixel_values);
          expect(expected.shape).toEqual(run.pixel_values_shape);
          expect(maxAbsDiff(out.pixelValues, expected.data as Float32Array)).toBe(0);
        }
      });
    }
  }
});

describe("centerCrop", () => {
  // 5x4 image, pixel (x, y) = 10 * y + x + 1 in every channel
  const rgb = new Uint8Array(5 * 4 * 3);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 5; x++) rgb.fill(10 * y + x + 1, (y * 5 + x) * 3, (y * 5 + x + 1) * 3);
  const grey = (crop: Uint8Array): number[] => Array.from(crop.filter((_, i) => i % 3 === 0));

  it("takes floor((size - crop) / 2) as the offset", () => {
    expect(centerCropOffset(5, 4, 2, 3)).toEqual({ left: 1, top: 0 });
    expect(grey(centerCrop(rgb, 5, 4, 2, 3))).toEqual([2, 3, 12, 13, 22, 23]);
  });

  it("pads with zeros, more after than before on an odd difference, where the crop is larger", () => {
    expect(centerCropOffset(5, 4, 8, 5)).toEqual({ left: -2, top: -1 });
    const crop = grey(centerCrop(rgb, 5, 4, 8, 5));
    expect(crop.slice(0, 8)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(crop.slice(8, 16)).toEqual([0, 0, 1, 2, 3, 4, 5, 0]);
    expect(crop.slice(32)).toEqual([0, 0, 31, 32, 33, 34, 35, 0]);
  });
});

describe("readShortestEdgeCropConfig", () => {
  // facebook/dinov2-small's preprocessor_config.json
  const dinov2 = {
    crop_size: { height: 224, width: 224 },
    do_center_crop: true,
    do_convert_rgb: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.485, 0.456, 0.406],
    image_processor_type: "BitImageProcessor",
    image_std: [0.229, 0.224, 0.225],
    resample: 3,
    rescale_factor: 0.00392156862745098,
    size: { shortest_edge: 256 },
  };
  const clipDefaults = {
    shortestEdge: 224,
    crop: { width: 224, height: 224 },
    resample: "bicubic",
    rescale: 1 / 255,
    mean: [0.48145466, 0.4578275, 0.40821073],
    std: [0.26862954, 0.26130258, 0.27577711],
  };

  it("reads DINOv2's and CLIP's configs (legacy integer sizes too), and the processors' defaults", () => {
    expect(readShortestEdgeCropConfig(dinov2)).toEqual({
      shortestEdge: 256,
      crop: { width: 224, height: 224 },
      resample: "bicubic",
      rescale: 0.00392156862745098,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    });
    expect(readShortestEdgeCropConfig({})).toEqual(clipDefaults);
    expect(readShortestEdgeCropConfig({ feature_extractor_type: "CLIPFeatureExtractor", size: 224, crop_size: 224, resample: 3 })).toEqual(clipDefaults);
    expect(readShortestEdgeCropConfig({ size: { shortest_edge: 336 }, crop_size: { height: 100, width: 120 }, resample: 2 })).toMatchObject({
      shortestEdge: 336,
      crop: { width: 120, height: 100 },
      resample: "bilinear",
    });
    expect(readShortestEdgeCropConfig({ do_center_crop: false, crop_size: "ignored" }).crop).toBeUndefined();
    expect(readShortestEdgeCropConfig({ do_rescale: false, do_normalize: false })).toMatchObject({ rescale: 1, mean: [0, 0, 0], std: [1, 1, 1] });
  });

  it("refuses, in one sentence, what it cannot do as the processors do", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ do_resize: false }, /do_resize false/],
      [{ do_convert_rgb: false }, /do_convert_rgb false/],
      [{ image_processor_type: "BitImageProcessorFast" }, /BitImageProcessorFast/],
      [{ image_processor_type: "ViTImageProcessor" }, /ViTImageProcessor/],
      [{ size: { height: 224, width: 224 } }, /not a shortest_edge/],
      [{ size: { shortest_edge: 0 } }, /size.shortest_edge 0/],
      [{ crop_size: { height: 224 } }, /crop_size/],
      [{ crop_size: 22.5 }, /crop_size 22.5/],
      [{ resample: 7 }, /resample 7/],
      [{ rescale_factor: "1/255" }, /rescale_factor/],
      [{ image_mean: [0.5, 0.5] }, /image_mean/],
    ];
    for (const [raw, message] of cases) {
      expect(() => readShortestEdgeCropConfig({ ...dinov2, ...raw })).toThrow(ModelLayoutError);
      expect(() => readShortestEdgeCropConfig({ ...dinov2, ...raw })).toThrow(message);
    }
  });
});
