/**
 * Weight variants of hub ONNX exports, named by a file suffix (`vision_model_fp16.onnx`): the
 * names transformers.js and onnx-community exports use. `--dtype` picks one for every part of a
 * model (`fp16`) or one per part (`embed_tokens=fp16,decoder_model_merged=q4`), as
 * transformers.js's per-part dtype option does.
 */
export const DTYPE_SUFFIX = {
  fp32: "",
  fp16: "_fp16",
  q8: "_quantized",
  int8: "_int8",
  uint8: "_uint8",
  q4: "_q4",
  q4f16: "_q4f16",
  bnb4: "_bnb4",
} as const;

export type Dtype = keyof typeof DTYPE_SUFFIX;
export const DTYPES = Object.keys(DTYPE_SUFFIX) as Dtype[];

/** A dtype for every part, with per-part exceptions. */
export interface DtypeSpec {
  fallback: Dtype;
  parts: Record<string, Dtype>;
}

export class DtypeSpecError extends Error {}

/**
 * Parses `--dtype`: `fp16`, `embed_tokens=fp16,decoder_model_merged=q4`, or both (`fp16,decoder=q4`).
 * `parts` maps each accepted part name (aliases included) to the part it sets.
 */
export function parseDtypeSpec(text: string, parts: Record<string, string>): DtypeSpec {
  const spec: DtypeSpec = { fallback: "fp32", parts: {} };
  const isDtype = (value: string): value is Dtype => (DTYPES as string[]).includes(value);
  const entries = text
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new DtypeSpecError(`--dtype is empty; give one of ${DTYPES.join(", ")}`);
  for (const entry of entries) {
    const [name, value, extra] = entry.split("=").map((s) => s.trim());
    const dtype = value ?? name;
    if (extra !== undefined || !isDtype(dtype)) {
      throw new DtypeSpecError(`--dtype ${text}: '${dtype}' is not a dtype; valid dtypes: ${DTYPES.join(", ")}`);
    }
    if (value === undefined) {
      spec.fallback = dtype;
      continue;
    }
    const part = parts[name];
    if (part === undefined) {
      throw new DtypeSpecError(`--dtype ${text}: this model has no part '${name}'; its parts: ${Object.keys(parts).join(", ")}`);
    }
    spec.parts[part] = dtype;
  }
  return spec;
}

export function dtypeFor(spec: DtypeSpec, part: string): Dtype {
  return spec.parts[part] ?? spec.fallback;
}

/** The spec as `--dtype` would give it, parts sorted: a stable key for caches and reports. */
export function formatDtypeSpec(spec: DtypeSpec): string {
  const overrides = Object.entries(spec.parts)
    .filter(([, d]) => d !== spec.fallback)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([p, d]) => `${p}=${d}`);
  return [spec.fallback, ...overrides].join(",");
}
