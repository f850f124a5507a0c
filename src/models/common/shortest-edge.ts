/**
 * Shortest-edge resize then center crop, as transformers' (slow) CLIPImageProcessor and
 * BitImageProcessor do it (openai/clip-vit-*, facebook/dinov2-*): resize keeping the aspect ratio
 * so the shortest edge is N (PIL filter), center crop (zero padding where the image is smaller),
 * rescale, normalise, channels first.
 */
import { centerCrop, shortestEdgeSize } from "../../image/crop.js";
import { type ResampleFilter, resizeRgb } from "../../image/resample.js";
import { ModelLayoutError } from "./layout.js";
import { type ImagePreprocessing, normalizePixels } from "../../image/normalize.js";
import { readPreprocessorConfig } from "./preprocessing.js";
import { readProcessorPixels } from "./processor-pixels.js";

export interface ShortestEdgeCropConfig {
  shortestEdge: number;
  /** The center crop; undefined when the processor does not crop (do_center_crop false). */
  crop: { width: number; height: number } | undefined;
  resample: ResampleFilter;
  /** Per-pixel factor before normalising; 1 when the processor does not rescale. */
  rescale: number;
  mean: [number, number, number];
  std: [number, number, number];
}

export interface ShortestEdgeCropPixels {
  /** (3, height, width) float32. */
  pixelValues: Float32Array;
  width: number;
  height: number;
}

// the processors' default mean and std (OPENAI_CLIP_MEAN / OPENAI_CLIP_STD), for both classes
const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/** Preprocesses decoded RGB (HWC uint8, after orientation) into pixel_values, channels first. */
export function prepareShortestEdgeCrop(rgb: Uint8Array, width: number, height: number, config: ShortestEdgeCropConfig): ShortestEdgeCropPixels {
  const size = shortestEdgeSize(width, height, config.shortestEdge);
  let pixels = resizeRgb(rgb, width, height, size.width, size.height, config.resample);
  let { width: w, height: h } = size;
  if (config.crop) {
    pixels = centerCrop(pixels, w, h, config.crop.width, config.crop.height);
    ({ width: w, height: h } = config.crop);
  }
  const pixelValues = normalizePixels(pixels, {
    width: w,
    height: h,
    resample: config.resample,
    rescale: config.rescale,
    mean: config.mean,
    std: config.std,
    rounding: "processor",
  });
  return { pixelValues, width: w, height: h };
}

const PROCESSORS = ["CLIPImageProcessor", "CLIPFeatureExtractor", "BitImageProcessor"];

/**
 * A preprocessor_config.json object to a ShortestEdgeCropConfig, with the processors' defaults
 * (the same for both classes); refuses, in one sentence, what it would do differently.
 */
export function readShortestEdgeCropConfig(raw: Record<string, unknown>): ShortestEdgeCropConfig {
  const refuse = (why: string): never => {
    throw new ModelLayoutError(
      `preprocessor_config.json ${why}; emb preprocesses these models only as transformers' CLIPImageProcessor and BitImageProcessor do (shortest-edge resize, then center crop)`,
    );
  };
  const typeKey = raw.image_processor_type !== undefined ? "image_processor_type" : "feature_extractor_type";
  const type = raw[typeKey];
  if (type !== undefined && !PROCESSORS.includes(type as string)) {
    // the fast processors resize with torchvision, whose pixels differ from PIL's
    refuse(`names ${typeKey} ${JSON.stringify(type)}, none of ${PROCESSORS.join(", ")}`);
  }
  if (raw.do_resize === false) refuse("turns resizing off (do_resize false), which leaves the image's size to the caller");
  // emb decodes every image to RGB, as do_convert_rgb does; without it the processor keeps grey or alpha channels
  if (raw.do_convert_rgb === false) refuse("turns RGB conversion off (do_convert_rgb false), which keeps grey and alpha channels");
  const positive = (key: string, value: unknown): number => {
    if (!Number.isInteger(value) || (value as number) < 1) refuse(`gives ${key} ${JSON.stringify(value)}, not a positive integer`);
    return value as number;
  };
  // an integer size is the shortest edge (get_size_dict with default_to_square=False)
  const size = raw.size ?? { shortest_edge: 224 };
  const isDict = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  const shortestEdge =
    typeof size === "number"
      ? positive("size", size)
      : isDict(size) && "shortest_edge" in size
        ? positive("size.shortest_edge", size.shortest_edge)
        : refuse(`gives size ${JSON.stringify(size)}, not a shortest_edge (a fixed height and width is another resize)`);
  let crop: ShortestEdgeCropConfig["crop"];
  if (raw.do_center_crop !== false) {
    // an integer crop_size is a square
    const value = raw.crop_size ?? { height: 224, width: 224 };
    if (typeof value === "number") crop = { width: positive("crop_size", value), height: value };
    else if (isDict(value) && "height" in value && "width" in value) {
      crop = { width: positive("crop_size.width", value.width), height: positive("crop_size.height", value.height) };
    } else refuse(`gives crop_size ${JSON.stringify(value)}, not a number or a height and width`);
  }
  const pixels = readProcessorPixels(raw, { resample: 3, mean: CLIP_MEAN, std: CLIP_STD }, refuse); // PIL BICUBIC by default
  return {
    shortestEdge,
    crop,
    ...pixels,
  };
}

/**
 * A CLIP or DINOv2 folder's preprocessor_config.json as the decode stage's ImagePreprocessing:
 * shortest-edge resize, center crop, the processor's float32 roundings. Batches need one size,
 * so a processor without a center crop is refused.
 */
export function shortestEdgePreprocessing(dir: string): ImagePreprocessing {
  const { path, raw } = readPreprocessorConfig(dir);
  const config = readShortestEdgeCropConfig(raw);
  if (!config.crop) {
    throw new ModelLayoutError(
      `${path} turns the center crop off (do_center_crop false), which gives every image its own size; emb embeds in batches of one size: set do_center_crop to true`,
    );
  }
  const { crop, shortestEdge, resample, rescale, mean, std } = config;
  return { width: crop.width, height: crop.height, shortestEdge, resample, rescale, mean, std, rounding: "processor" };
}
