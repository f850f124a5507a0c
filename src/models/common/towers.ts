/**
 * Which graph of a two-tower export (SigLIP, SigLIP 2, CLIP) runs each tower. Public exports come
 * in three layouts, all accepted, in this order of preference:
 *   - split `onnx/vision_model*.onnx` / `onnx/text_model*.onnx` (Xenova/siglip-*, Xenova/clip-*),
 *   - the same split graphs at the repository root (third-party mirrors),
 *   - the combined `onnx/model*.onnx` (onnx-community/siglip-so400m-patch14-384-ONNX), which
 *     takes both inputs and returns both towers' L2-normalised embeddings.
 * Split graphs are preferred because the combined one runs a token of the other tower per call.
 * Image-only models (DINOv2) have `onnx/model*.onnx` as their one tower.
 */
import { describeOffer, findGraph, graphFile, graphWithWeights, ModelLayoutError } from "./layout.js";
import { dtypeFor, formatDtypeSpec, parseDtypeSpec, type Dtype, type DtypeSpec } from "./variants.js";

export type Tower = "vision" | "text";

const STEMS: Record<Tower, readonly string[]> = {
  vision: ["onnx/vision_model", "vision_model", "onnx/model", "model"],
  text: ["onnx/text_model", "text_model", "onnx/model", "model"],
};
const COMBINED_STEMS = ["onnx/model", "model"];

/** Part names `--dtype` accepts for two-tower models (`--dtype vision=fp16,text=q8`). */
const DTYPE_PARTS: Record<string, Tower> = { vision: "vision", vision_model: "vision", text: "text", text_model: "text" };

export function parseTowerDtype(text: string): DtypeSpec {
  return parseDtypeSpec(text, DTYPE_PARTS);
}

export interface TowerGraph {
  /** The graph file, relative to the model folder. */
  file: string;
  dtype: Dtype;
  /** The combined graph: it also wants the other tower's input. */
  combined: boolean;
}

export function chooseTowerGraph(files: string[], tower: Tower, spec: DtypeSpec, family = "SigLIP"): TowerGraph {
  const dtype = dtypeFor(spec, tower);
  const found = findGraph(files, STEMS[tower], dtype);
  if (found) return { file: found.file, dtype, combined: COMBINED_STEMS.includes(found.stem) };
  // One dtype for everything stays one dtype in the suggestion; per-part specs keep their form.
  const perPart = Object.keys(spec.parts).length > 0;
  const flag = (d: Dtype) => `--dtype ${perPart ? formatDtypeSpec({ fallback: spec.fallback, parts: { ...spec.parts, [tower]: d } }) : d}`;
  throw new ModelLayoutError(
    `no ${family} ${tower} graph for --dtype ${formatDtypeSpec(spec)}: looked for ` +
      `${STEMS[tower].map((s) => graphFile(s, dtype)).join(", ")}; ${describeOffer(files, STEMS[tower], flag)}`,
  );
}

/** The files a tower needs: its graph and weights, config, and the extra files that exist. */
export function towerFiles(files: string[], tower: Tower, spec: DtypeSpec, extra: readonly string[], family = "SigLIP"): string[] {
  const { file } = chooseTowerGraph(files, tower, spec, family);
  return ["config.json", ...extra.filter((f) => files.includes(f)), ...graphWithWeights(files, file)];
}

/**
 * The output holding a tower's embedding: `pooler_output` (what get_image_features /
 * get_text_features return, not normalised) where the graph has it, else the combined graph's
 * `image_embeds` / `text_embeds` (normalised).
 */
export function towerOutput(outputs: readonly string[], tower: Tower, file: string): { output: string; normalized: boolean } {
  if (outputs.includes("pooler_output")) return { output: "pooler_output", normalized: false };
  const embeds = tower === "vision" ? "image_embeds" : "text_embeds";
  if (outputs.includes(embeds)) return { output: embeds, normalized: true };
  throw new ModelLayoutError(`${file} has no SigLIP ${tower} embedding output: expected pooler_output or ${embeds}, it has ${outputs.join(", ")}`);
}

/** The combined graph for `spec`'s dtype, when the model has one: classify reads the logit scale (and bias) from it. */
export function combinedGraph(files: string[], spec: DtypeSpec): string | undefined {
  return findGraph(files, COMBINED_STEMS, spec.fallback)?.file;
}
