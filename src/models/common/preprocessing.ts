/** Image preprocessing read from a model's preprocessor_config.json (HF image processors). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ImagePreprocessing } from "../../image/normalize.js";
import { ModelLayoutError } from "./layout.js";

export function readPreprocessing(dir: string): ImagePreprocessing {
  const raw = JSON.parse(readFileSync(join(dir, "preprocessor_config.json"), "utf8"));
  const size = raw.size ?? {};
  const width = size.width ?? size.shortest_edge;
  const height = size.height ?? size.shortest_edge;
  if (!width || !height) throw new ModelLayoutError(`preprocessor_config.json in ${dir} gives no image size`);
  if (raw.resample !== undefined && raw.resample !== 3) {
    throw new ModelLayoutError(`preprocessor_config.json asks for resample ${raw.resample}; only bicubic (3) is supported`);
  }
  const three = (v: unknown, fallback: number): [number, number, number] =>
    Array.isArray(v) ? [v[0], v[1], v[2]] : [Number(v ?? fallback), Number(v ?? fallback), Number(v ?? fallback)];
  return {
    width,
    height,
    rescale: raw.do_rescale === false ? 1 : (raw.rescale_factor ?? 1 / 255),
    mean: raw.do_normalize === false ? [0, 0, 0] : three(raw.image_mean, 0.5),
    std: raw.do_normalize === false ? [1, 1, 1] : three(raw.image_std, 0.5),
    resample: "bicubic",
  };
}
