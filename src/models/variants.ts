/**
 * Weight variants of hub ONNX exports, named by a file suffix (`vision_model_fp16.onnx`):
 * the names transformers.js and onnx-community exports use.
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

/** Which dtypes exist for graph `stem` (e.g. "onnx/vision_model") among the given files. */
export function availableDtypes(files: string[], stem: string): Dtype[] {
  const present = new Set(files);
  return DTYPES.filter((d) => present.has(`${stem}${DTYPE_SUFFIX[d]}.onnx`));
}

/** The graph file plus its external weight files (`x.onnx_data`, `x.onnx_data_1`, ...). */
export function graphWithWeights(files: string[], graph: string): string[] {
  return [graph, ...files.filter((f) => f.startsWith(`${graph}_data`) || f === `${graph}.data`).sort()];
}
