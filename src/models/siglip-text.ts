/**
 * SigLIP text adapter: the text tower of a SigLIP export, fed with SiglipTokenizer's fixed-length
 * ids. Both hub layouts work: the split `onnx/text_model.onnx` (pooler_output, not normalised)
 * and the combined `onnx/model.onnx` (text_embeds, L2-normalised). The combined graph's vision
 * tower cannot take an empty batch (a reshape of 0 x -1 fails), so it gets one blank image per
 * call: the split layout, preferred when both exist, avoids that cost.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ModelSession, type SessionOptions } from "../runtime/session.js";
import { chooseGraph, listedFiles, ModelLayoutError, type SiglipGraph } from "./siglip.js";
import { SiglipTokenizer } from "./siglip-tokenizer.js";
import { graphWithWeights, type Dtype } from "./variants.js";

const TEXT_GRAPHS: SiglipGraph[] = [
  { stem: "onnx/text_model", output: "pooler_output", normalized: false },
  { stem: "onnx/model", output: "text_embeds", normalized: true },
];

/** The files a SigLIP text run needs from a repository. */
export function siglipTextFiles(dtype: Dtype): (files: string[]) => string[] {
  return (files) => {
    const { file } = chooseGraph(files, dtype, TEXT_GRAPHS, "text");
    return ["config.json", "tokenizer.json", "tokenizer_config.json", ...graphWithWeights(files, file)];
  };
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
}

export class SiglipTextModel {
  private constructor(
    private readonly session: ModelSession,
    readonly tokenizer: SiglipTokenizer,
    readonly info: SiglipTextModelInfo,
    private readonly imageSize: number,
  ) {
    this.feedsBlankImage = session.inputs.some((i) => i.name === "pixel_values");
  }

  /** The combined graph also wants pixel_values: it gets one blank image. */
  private readonly feedsBlankImage: boolean;

  static async load(dir: string, dtype: Dtype, options: SessionOptions): Promise<SiglipTextModel> {
    const { graph, file } = chooseGraph(listedFiles(dir), dtype, TEXT_GRAPHS, "text");
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    const dim = config.text_config?.hidden_size;
    const length = config.text_config?.max_position_embeddings ?? 64;
    if (!dim) throw new ModelLayoutError(`config.json in ${dir} has no text_config.hidden_size`);
    const session = await ModelSession.open(join(dir, file), options);
    return new SiglipTextModel(
      session,
      SiglipTokenizer.load(dir, length),
      {
        graph: file,
        dtype,
        output: graph.output,
        normalizedByModel: graph.normalized,
        dim,
        length,
        vocabSize: config.text_config?.vocab_size ?? 32000,
        provider: session.provider,
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
