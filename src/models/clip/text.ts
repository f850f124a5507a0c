/**
 * CLIP text adapter: the text tower with its projection (`text_embeds`, what get_text_features
 * returns: the projected hidden state at the first `<|endoftext|>`), fed CLIPTokenizerFast's 77
 * ids and the attention mask it gives (1 through `<|endoftext|>`).
 */
import { join } from "node:path";
import { ModelSession, type SessionOptions } from "../../runtime/session.js";
import { modelFiles } from "../common/layout.js";
import { readModelConfig } from "../common/model-config.js";
import { TextTower } from "../common/text-tower.js";
import { chooseTowerGraph, towerFiles } from "../common/towers.js";
import type { DtypeSpec } from "../common/variants.js";
import { clipDim, clipOutput } from "./image.js";
import { loadClipTokenizer } from "./tokenizer.js";

/** Tokenizer files a CLIP repository may ship; the ones present are fetched (tokenizer.json is what is read). */
const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

export function clipTextFiles(spec: DtypeSpec): (files: string[]) => string[] {
  return (files) => towerFiles(files, "text", spec, TOKENIZER_FILES, "CLIP");
}

export async function loadClipText(dir: string, spec: DtypeSpec, options: SessionOptions): Promise<TextTower> {
  const { file, dtype, combined } = chooseTowerGraph(modelFiles(dir), "text", spec, "CLIP");
  const config = readModelConfig(dir, "CLIP");
  const length = config.text_config?.max_position_embeddings ?? 77;
  const tokenizer = loadClipTokenizer(dir, length);
  const session = await ModelSession.open(join(dir, file), options);
  const { output, normalized } = clipOutput(session.outputNames, "text", file, combined);
  return new TextTower({
    session,
    tokenizer,
    info: {
      graph: file,
      dtype,
      output,
      normalizedByModel: normalized,
      dim: clipDim(config),
      length,
      vocabSize: config.text_config?.vocab_size ?? 49408,
      provider: session.provider,
      tokenizer: { kind: "clip" },
    },
    mask: "through-eos",
    imageSize: config.vision_config?.image_size ?? 224,
  });
}
