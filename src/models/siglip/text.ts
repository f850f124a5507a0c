/**
 * SigLIP text adapter: the text tower of a SigLIP export, fed with SiglipTokenizer's fixed-length
 * ids. Every public layout works (siglip-graphs.ts). The combined graph's vision tower cannot
 * take an empty batch (a reshape of 0 x -1 fails), so it gets one blank image per call: the
 * split layouts, preferred when present, avoid that cost.
 */
import { join } from "node:path";
import { ModelSession, type SessionOptions } from "../../runtime/session.js";
import { modelFiles, ModelLayoutError } from "../common/layout.js";
import { readConfig } from "./image.js";
import { chooseTowerGraph, towerFiles, towerOutput } from "../common/towers.js";
import { SiglipTokenizer } from "./tokenizer.js";
import type { PaddedTokenizer } from "../common/padded-tokenizer.js";
import { isGemmaTokenizer, loadSiglip2Tokenizer } from "../siglip2/tokenizer.js";
import type { Dtype, DtypeSpec } from "../common/variants.js";

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

export interface SiglipTextModelInfo {
  graph: string;
  dtype: Dtype;
  output: string;
  normalizedByModel: boolean;
  dim: number;
  length: number;
  /** Rows of the token embedding table: valid ids are 0..vocabSize-1. */
  vocabSize: number;
  provider: string;
  /** Set for SigLIP 2's Gemma tokenizer only, so SigLIP's output fingerprints stay as they were. */
  tokenizer?: { kind: "gemma"; lowercase: boolean };
}

export class SiglipTextModel {
  private constructor(
    private readonly session: ModelSession,
    readonly tokenizer: SiglipTokenizer | PaddedTokenizer,
    readonly info: SiglipTextModelInfo,
    private readonly imageSize: number,
  ) {
    this.feedsBlankImage = session.inputs.some((i) => i.name === "pixel_values");
    this.feedsMask = session.inputs.some((i) => i.name === "attention_mask");
  }

  /** The combined graph also wants pixel_values: it gets one blank image. */
  private readonly feedsBlankImage: boolean;
  /**
   * Some exports take an attention_mask. SiglipTokenizer gives none and the Python model then
   * attends to every position, padding included: a mask of ones is that.
   */
  private readonly feedsMask: boolean;

  static async load(dir: string, spec: DtypeSpec, options: SessionOptions, text: TextOptions = {}): Promise<SiglipTextModel> {
    const { file, dtype } = chooseTowerGraph(modelFiles(dir), "text", spec);
    const config = readConfig(dir);
    const dim = config.text_config?.hidden_size;
    const length = config.text_config?.max_position_embeddings ?? 64;
    if (!dim) throw new ModelLayoutError(`config.json in ${dir} has no text_config.hidden_size`);
    // SigLIP 2 (fixed resolution) is SigLIP's graph with Gemma's tokenizer.
    const gemma = isGemmaTokenizer(dir) ? loadSiglip2Tokenizer(dir, { length, lowercase: text.lowercase ?? true }) : undefined;
    const session = await ModelSession.open(join(dir, file), options);
    const { output, normalized } = towerOutput(session.outputNames, "text", file);
    return new SiglipTextModel(
      session,
      gemma ?? SiglipTokenizer.load(dir, length),
      {
        graph: file,
        dtype,
        output,
        normalizedByModel: normalized,
        dim,
        length,
        vocabSize: config.text_config?.vocab_size ?? 32000,
        provider: session.provider,
        ...(gemma ? { tokenizer: { kind: "gemma" as const, lowercase: gemma.lowercase } } : {}),
      },
      config.vision_config?.image_size ?? 384,
    );
  }

  /** Embeds rows of token ids (each exactly `length` long); one vector per row. */
  async embedIds(rows: number[][]): Promise<Float32Array[]> {
    const { length, dim } = this.info;
    const ids = new BigInt64Array(rows.length * length);
    rows.forEach((row, r) => {
      if (row.length !== length) throw new RangeError(`token id row ${r} has ${row.length} ids; SigLIP takes exactly ${length}`);
      row.forEach((id, i) => (ids[r * length + i] = BigInt(id)));
    });
    const feeds: Parameters<ModelSession["run"]>[0] = { input_ids: { type: "int64", data: ids, dims: [rows.length, length] } };
    if (this.feedsMask) feeds.attention_mask = { type: "int64", data: new BigInt64Array(rows.length * length).fill(1n), dims: [rows.length, length] };
    if (this.feedsBlankImage) {
      const size = this.imageSize;
      feeds.pixel_values = { type: "float32", data: new Float32Array(3 * size * size), dims: [1, 3, size, size] };
    }
    const out = (await this.session.run(feeds, [this.info.output]))[this.info.output];
    return rows.map((_, i) => out.data.slice(i * dim, (i + 1) * dim) as Float32Array);
  }

  /** Tokenises and embeds captions. */
  async embedTexts(texts: string[]): Promise<Float32Array[]> {
    return this.embedIds(texts.map((t) => this.tokenizer.encode(t).ids));
  }

  /** One caption's embedding: what zero-shot classification needs per class prompt. */
  async embedText(text: string): Promise<Float32Array> {
    return (await this.embedTexts([text]))[0];
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
