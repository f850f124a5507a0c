/** Image preprocessing read from a model's preprocessor_config.json (HF image processors). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ImagePreprocessing } from "../../image/normalize.js";
import { PIL_RESAMPLE, type ResampleFilter } from "../../image/resample.js";
import { ModelLayoutError } from "./layout.js";

/** A model folder's preprocessor_config.json; a missing or unreadable one is named, with what it is for. */
export function readPreprocessorConfig(dir: string): { path: string; raw: Record<string, unknown> } {
  const path = join(dir, "preprocessor_config.json");
  try {
    return { path, raw: JSON.parse(readFileSync(path, "utf8")) };
  } catch (error) {
    throw new ModelLayoutError(`cannot read ${path} (${(error as Error).message.split("\n")[0]}); the model's image preprocessing is read from it`);
  }
}

export function readPreprocessing(dir: string): ImagePreprocessing {
  const raw = JSON.parse(readFileSync(join(dir, "preprocessor_config.json"), "utf8"));
  const size = raw.size ?? {};
  const width = size.width ?? size.shortest_edge;
  const height = size.height ?? size.shortest_edge;
  if (!width || !height) throw new ModelLayoutError(`preprocessor_config.json in ${dir} gives no image size`);
  const resample = resampleFilter(raw.resample);
  const three = (v: unknown, fallback: number): [number, number, number] =>
    Array.isArray(v) ? [v[0], v[1], v[2]] : [Number(v ?? fallback), Number(v ?? fallback), Number(v ?? fallback)];
  return {
    width,
    height,
    rescale: raw.do_rescale === false ? 1 : (raw.rescale_factor ?? 1 / 255),
    mean: raw.do_normalize === false ? [0, 0, 0] : three(raw.image_mean, 0.5),
    std: raw.do_normalize === false ? [1, 1, 1] : three(raw.image_std, 0.5),
    resample,
  };
}

/** PIL's Image.Resampling value to its filter; absent means bicubic, as before it was read. */
function resampleFilter(value: unknown): ResampleFilter {
  if (value === undefined) return "bicubic";
  const filter = Number.isInteger(value) ? PIL_RESAMPLE[value as number] : undefined;
  if (filter) return filter;
  const supported = PIL_RESAMPLE.map((name, i) => `${i} (${name})`);
  throw new ModelLayoutError(
    `preprocessor_config.json asks for resample ${JSON.stringify(value)}; emb supports ${supported.slice(0, -1).join(", ")} and ${supported.at(-1)}`,
  );
}
