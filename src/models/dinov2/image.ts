/**
 * DINOv2 image adapter (facebook/dinov2-*, with and without registers): an image-only model, one
 * graph from pixel_values to `last_hidden_state` and `pooler_output`, preprocessed as
 * BitImageProcessor does (shortest edge 256, bicubic, center crop 224, ImageNet mean and std).
 * The embedding is the CLS token after the final layer norm (`pooler_output`, the default), or
 * the mean of the patch tokens (`--pooling mean`: register tokens left out, as transformers'
 * Dinov2ForImageClassification averages them).
 */
import { join } from "node:path";
import { ModelSession, type SessionOptions, type Tensor } from "../../runtime/session.js";
import { ImageTower } from "../common/image-tower.js";
import { describeOffer, findGraph, graphFile, graphWithWeights, ModelLayoutError, modelFiles } from "../common/layout.js";
import { readModelConfig } from "../common/model-config.js";
import { shortestEdgePreprocessing } from "../common/shortest-edge.js";
import { dtypeFor, type DtypeSpec } from "../common/variants.js";

export const DINOV2_POOLINGS = ["cls", "mean"] as const;
export type Dinov2Pooling = (typeof DINOV2_POOLINGS)[number];

const STEMS = ["onnx/model", "model"];

function chooseGraph(files: string[], spec: DtypeSpec): { file: string; dtype: ReturnType<typeof dtypeFor> } {
  const dtype = dtypeFor(spec, "vision");
  const found = findGraph(files, STEMS, dtype);
  if (found) return { file: found.file, dtype };
  throw new ModelLayoutError(
    `no DINOv2 graph for --dtype ${dtype}: looked for ${STEMS.map((s) => graphFile(s, dtype)).join(", ")}; ${describeOffer(files, STEMS, (d) => `--dtype ${d}`)}`,
  );
}

/** The files `emb embed image` needs from a DINOv2 repository. */
export function dinov2ImageFiles(spec: DtypeSpec): (files: string[]) => string[] {
  return (files) => ["config.json", "preprocessor_config.json", ...graphWithWeights(files, chooseGraph(files, spec).file)];
}

export async function loadDinov2Image(dir: string, spec: DtypeSpec, options: SessionOptions, pooling: Dinov2Pooling = "cls"): Promise<ImageTower> {
  const { file, dtype } = chooseGraph(modelFiles(dir), spec);
  const config = readModelConfig(dir, "DINOv2");
  const dim = config.hidden_size;
  if (!dim) throw new ModelLayoutError(`config.json in ${dir} has no hidden_size`);
  const preprocessing = shortestEdgePreprocessing(dir);
  const session = await ModelSession.open(join(dir, file), options);
  const outputs = session.outputNames;
  // the CLS row of last_hidden_state is pooler_output; exports without that output still give it
  const output = pooling === "cls" && outputs.includes("pooler_output") ? "pooler_output" : "last_hidden_state";
  if (!outputs.includes(output)) {
    throw new ModelLayoutError(`${file} has no ${output} output (it has ${outputs.join(", ")}); a DINOv2 export gives last_hidden_state`);
  }
  const skip = 1 + (config.num_register_tokens ?? 0);
  const rows =
    output === "pooler_output"
      ? undefined
      : pooling === "cls"
        ? (out: Tensor, n: number) => tokenRows(out, n, 0, 1)
        : (out: Tensor, n: number) => tokenRows(out, n, skip);
  return new ImageTower({
    session,
    preprocessing,
    info: { graph: file, dtype, output, normalizedByModel: false, dim, provider: session.provider, pooling },
    rows,
  });
}

/**
 * Per image, the mean of tokens [from, to) of a (n, tokens, dim) hidden state: float32 sums in
 * token order, divided once, as torch's mean over a small dimension does.
 */
function tokenRows(out: Tensor, n: number, from: number, to?: number): Float32Array[] {
  const [, tokens, dim] = out.dims;
  const end = to ?? tokens;
  const data = out.data as Float32Array;
  const rows: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const row = new Float32Array(dim);
    for (let t = from; t < end; t++) {
      const at = (i * tokens + t) * dim;
      for (let d = 0; d < dim; d++) row[d] += data[at + d];
    }
    const count = end - from;
    if (count > 1) for (let d = 0; d < dim; d++) row[d] /= count;
    rows.push(row);
  }
  return rows;
}
