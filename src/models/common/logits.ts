/**
 * Image-text logits: logit = exp(logit_scale) * cos(image, text) + logit_bias (SigLIP; CLIP has
 * no bias). The constants are weights of the combined graph (onnx/model.onnx), not outputs, so
 * they are read back from it: one run on a blank image and two captions gives two logits and two
 * cosines, two equations, two unknowns.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ModelSession, type SessionOptions } from "../../runtime/session.js";
import { dot, l2normalize } from "../../runtime/vectors.js";
import { modelFiles, ModelLayoutError } from "./layout.js";

import { combinedGraph } from "./towers.js";
import type { DtypeSpec } from "./variants.js";
import type { LogitParameters, TextEmbedder } from "../types.js";

/** The file tools/export writes beside a split export, with the constants its graphs do not hold. */
export const EXPORT_REPORT = "export_report.json";

/** export_report.json's `classify: { logit_scale, logit_bias }` (exp of the scale, as classify takes it), when present. */
function exportedLogitParameters(dir: string): LogitParameters | undefined {
  const path = join(dir, EXPORT_REPORT);
  if (!existsSync(path)) return undefined;
  let classify: { logit_scale?: unknown; logit_bias?: unknown } | undefined;
  try {
    classify = JSON.parse(readFileSync(path, "utf8")).classify;
  } catch (error) {
    throw new ModelLayoutError(`${path} is not readable JSON (${(error as Error).message.split("\n")[0]})`);
  }
  if (classify === undefined) return undefined;
  const { logit_scale: scale, logit_bias: bias } = classify;
  if (typeof scale !== "number" || typeof bias !== "number" || !Number.isFinite(scale) || !Number.isFinite(bias)) {
    throw new ModelLayoutError(`${path} gives classify ${JSON.stringify(classify)}; it needs a finite logit_scale and logit_bias`);
  }
  return { scale, bias };
}

export async function readLogitParameters(
  dir: string,
  spec: DtypeSpec,
  text: TextEmbedder,
  imageSize: number,
  options: SessionOptions,
): Promise<LogitParameters> {
  const graph = combinedGraph(modelFiles(dir), spec);
  if (!graph) {
    const exported = exportedLogitParameters(dir);
    if (exported) return exported;
    throw new ModelLayoutError(
      `classification needs the model's logit scale (and SigLIP's bias), which only the combined graph (onnx/model.onnx) or tools/export's export_report.json holds, and ${dir} has neither for --dtype ${spec.fallback}; pass --logit-scale and --logit-bias to give them yourself`,
    );
  }
  const length = text.info.length;
  const session = await ModelSession.open(join(dir, graph), options);
  try {
    const texts = ["a photo of a cat", "an old map of a harbour city"];
    const ids = texts.flatMap((t) => text.tokenizer.encode(t).ids.map(BigInt));
    const feeds: Parameters<ModelSession["run"]>[0] = {
      input_ids: { type: "int64", data: BigInt64Array.from(ids), dims: [2, length] },
      pixel_values: { type: "float32", data: new Float32Array(3 * imageSize * imageSize), dims: [1, 3, imageSize, imageSize] },
    };
    if (session.inputs.some((i) => i.name === "attention_mask")) {
      // a mask of ones: CLIP's causal attention leaves the end-of-text token's state as with its own mask
      feeds.attention_mask = { type: "int64", data: new BigInt64Array(ids.length).fill(1n), dims: [2, length] };
    }
    const out = await session.run(feeds);
    const dim = out.image_embeds.dims[1];
    const image = l2normalize(out.image_embeds.data as Float32Array);
    const cos = [0, 1].map((j) => dot(image, l2normalize((out.text_embeds.data as Float32Array).slice(j * dim, (j + 1) * dim))));
    const logits = out.logits_per_image.data as Float32Array;
    if (Math.abs(cos[0] - cos[1]) < 1e-6) throw new Error("cannot read the logit scale: the two probe captions embed alike");
    const scale = (logits[0] - logits[1]) / (cos[0] - cos[1]);
    return { scale, bias: logits[0] - scale * cos[0] };
  } finally {
    await session.release();
  }
}
