/**
 * Choosing graph files from a model's file list. Public exports lay the same graph out in
 * several ways (`onnx/vision_model.onnx`, `vision_model.onnx` at the root, a combined
 * `onnx/model.onnx`), each in several weight variants, with weights over 2 GB in external data
 * files. Adapters name the stems they accept in order of preference; these helpers find the
 * first one present and, when none is, say what the model does have and which flag picks it.
 */
import { readdirSync, realpathSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { DTYPE_SUFFIX, DTYPES, type Dtype } from "./variants.js";

export class ModelLayoutError extends Error {}

export function graphFile(stem: string, dtype: Dtype): string {
  return `${stem}${DTYPE_SUFFIX[dtype]}.onnx`;
}

/** The graph plus its external weights (`x.onnx_data`, `x.onnx_data_1`, ..., or `x.onnx.data`). */
export function graphWithWeights(files: string[], graph: string): string[] {
  return [graph, ...files.filter((f) => f.startsWith(`${graph}_data`) || f === `${graph}.data`).sort()];
}

/** The first of `stems` present in `files` for `dtype`. */
export function findGraph(files: string[], stems: readonly string[], dtype: Dtype): { stem: string; file: string } | undefined {
  const present = new Set(files);
  for (const stem of stems) {
    const file = graphFile(stem, dtype);
    if (present.has(file)) return { stem, file };
  }
  return undefined;
}

/**
 * What a model offers for one part, as a sentence: each graph of the accepted stems with the
 * `--dtype` that picks it, else its other ONNX files, else that it holds no ONNX graph at all.
 */
export function describeOffer(files: string[], stems: readonly string[], dtypeFlag: (dtype: Dtype) => string): string {
  const offered = stems.flatMap((stem) => DTYPES.filter((d) => files.includes(graphFile(stem, d))).map((d) => `${graphFile(stem, d)} (${dtypeFlag(d)})`));
  if (offered.length > 0) return `it has ${offered.join(", ")}`;
  const graphs = files.filter((f) => f.endsWith(".onnx"));
  if (graphs.length > 0) return `its ONNX files are ${graphs.join(", ")}, none of them this part`;
  const shown = files.slice(0, 12).join(", ") + (files.length > 12 ? `, ... (${files.length} files)` : "");
  return (
    `it holds no ONNX graph (${shown || "no files"}); a PyTorch or safetensors checkpoint can be exported with ` +
    'tools/export (see docs/models.md, "Your own checkpoint") and the folder passed with --model'
  );
}

/**
 * Every file under a model folder, as relative paths with '/' separators, sorted. Symlinked
 * folders are followed (weights kept on another disk), each real folder once.
 */
export function modelFiles(dir: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (d: string) => {
    const real = realpathSync(d);
    if (seen.has(real)) return;
    seen.add(real);
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.name.startsWith(".")) continue;
      const path = join(d, entry.name);
      const isDir = entry.isDirectory() || (entry.isSymbolicLink() && statSync(path, { throwIfNoEntry: false })?.isDirectory());
      if (isDir) visit(path);
      else out.push(relative(dir, path).split("\\").join("/"));
    }
  };
  visit(dir);
  return out.sort();
}
