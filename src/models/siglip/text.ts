/**
 * SigLIP text adapter: the text tower of a SigLIP export, fed with SiglipTokenizer's fixed-length
 * ids. Every public layout works (common/towers.ts). The combined graph's vision tower cannot
 * take an empty batch (a reshape of 0 x -1 fails), so it gets one blank image per call: the
 * split layouts, preferred when present, avoid that cost.
 */
import { join } from "node:path";
import { ModelSession, type SessionOptions } from "../../runtime/session.js";
import { modelFiles, ModelLayoutError } from "../common/layout.js";
import { readModelConfig } from "../common/model-config.js";
import { chooseTowerGraph, towerFiles, towerOutput } from "../common/towers.js";
import { SiglipTokenizer } from "./tokenizer.js";
import { TextTower } from "../common/text-tower.js";
import { isGemmaTokenizer, loadSiglip2Tokenizer } from "../siglip2/tokenizer.js";
import type { DtypeSpec } from "../common/variants.js";

/** How captions are tokenised. */
export interface TextOptions {
  /**
   * Lowercase captions first (default: what the model was trained with: SigLIP 2 lowercases,
   * SigLIP does not and ignores this).
   */
  lowercase?: boolean;
}

/** Tokenizer files a SigLIP repository may ship; the ones present are fetched. */
const TOKENIZER_FILES = ["spiece.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

/** The files a SigLIP text run needs from a repository. */
export function siglipTextFiles(spec: DtypeSpec): (files: string[]) => string[] {
  return (files) => towerFiles(files, "text", spec, TOKENIZER_FILES);
}

/** SigLIP's text tower (SigLIP 2 fixed resolution too, with Gemma's tokenizer): pooler_output, or a combined graph's text_embeds. */
export class SiglipTextModel extends TextTower {
  static async load(dir: string, spec: DtypeSpec, options: SessionOptions, text: TextOptions = {}): Promise<SiglipTextModel> {
    const { file, dtype } = chooseTowerGraph(modelFiles(dir), "text", spec);
    const config = readModelConfig(dir, "SigLIP");
    const dim = config.text_config?.hidden_size;
    const length = config.text_config?.max_position_embeddings ?? 64;
    if (!dim) throw new ModelLayoutError(`config.json in ${dir} has no text_config.hidden_size`);
    // SigLIP 2 (fixed resolution) is SigLIP's graph with Gemma's tokenizer.
    const gemma = isGemmaTokenizer(dir) ? loadSiglip2Tokenizer(dir, { length, lowercase: text.lowercase ?? true }) : undefined;
    const session = await ModelSession.open(join(dir, file), options);
    const { output, normalized } = towerOutput(session.outputNames, "text", file);
    return new SiglipTextModel({
      session,
      tokenizer: gemma ?? SiglipTokenizer.load(dir, length),
      info: {
        graph: file,
        dtype,
        output,
        normalizedByModel: normalized,
        dim,
        length,
        vocabSize: config.text_config?.vocab_size ?? 32000,
        provider: session.provider,
        // padding on the left changes the pooled last token: recorded where it happens
        ...(gemma ? { tokenizer: { kind: "gemma" as const, lowercase: gemma.lowercase, ...(gemma.padLeft ? { padding: "left" as const } : {}) } } : {}),
      },
      mask: "ones",
      imageSize: config.vision_config?.image_size ?? 384,
    });
  }
}
