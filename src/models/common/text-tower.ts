/**
 * A text tower: one ONNX graph from fixed-length rows of token ids to an embedding per caption.
 * The families differ in tokenizer, graph output and attention mask; a combined graph (both
 * towers in one) also wants an image, and gets one blank image per call.
 */
import type { ModelSession, Tensor } from "../../runtime/session.js";
import type { TokenizedText } from "./padded-tokenizer.js";
import type { Dtype } from "./variants.js";

export interface TextTowerInfo {
  graph: string;
  dtype: Dtype;
  output: string;
  normalizedByModel: boolean;
  dim: number;
  length: number;
  /** Rows of the token embedding table: valid ids are 0..vocabSize-1. */
  vocabSize: number;
  provider: string;
  /** Set where captions are not tokenised as SigLIP's (SigLIP 2's Gemma, CLIP's BPE), so SigLIP's output fingerprints stay as they were. */
  tokenizer?: { kind: "gemma" | "clip"; lowercase?: boolean; padding?: "left" };
}

export interface CaptionTokenizer {
  encode(text: string): TokenizedText;
  eosId: number | undefined;
  padId: number;
  readonly lowercase?: boolean;
}

export interface TextTowerParts {
  session: ModelSession;
  tokenizer: CaptionTokenizer;
  info: TextTowerInfo;
  /**
   * The attention mask a row gets where the graph takes one: "ones" (SigLIP attends to every
   * position, padding included, as its tokenizer gives no mask) or "through-eos" (CLIP: 1 up to
   * and including the first end-of-text token, 0 on the padding after it).
   */
  mask: "ones" | "through-eos";
  /** The image size a combined graph wants its blank image in. */
  imageSize: number;
}

export class TextTower {
  readonly tokenizer: CaptionTokenizer;
  readonly info: TextTowerInfo;
  private readonly feedsMask: boolean;
  private readonly feedsBlankImage: boolean;

  constructor(private readonly parts: TextTowerParts) {
    this.tokenizer = parts.tokenizer;
    this.info = parts.info;
    this.feedsMask = parts.session.inputs.some((i) => i.name === "attention_mask");
    this.feedsBlankImage = parts.session.inputs.some((i) => i.name === "pixel_values");
  }

  /** Embeds rows of token ids (each exactly `length` long); one vector per row. */
  async embedIds(rows: number[][]): Promise<Float32Array[]> {
    const { length, dim } = this.info;
    const ids = new BigInt64Array(rows.length * length);
    rows.forEach((row, r) => {
      if (row.length !== length) throw new RangeError(`token id row ${r} has ${row.length} ids; this model takes exactly ${length}`);
      row.forEach((id, i) => (ids[r * length + i] = BigInt(id)));
    });
    const feeds: Record<string, Tensor> = { input_ids: { type: "int64", data: ids, dims: [rows.length, length] } };
    if (this.feedsMask) feeds.attention_mask = { type: "int64", data: this.attentionMask(rows), dims: [rows.length, length] };
    if (this.feedsBlankImage) {
      const size = this.parts.imageSize;
      feeds.pixel_values = { type: "float32", data: new Float32Array(3 * size * size), dims: [1, 3, size, size] };
    }
    const out = (await this.parts.session.run(feeds, [this.info.output]))[this.info.output];
    return rows.map((_, i) => out.data.slice(i * dim, (i + 1) * dim) as Float32Array);
  }

  private attentionMask(rows: number[][]): BigInt64Array {
    const { length } = this.info;
    const mask = new BigInt64Array(rows.length * length);
    const eos = this.tokenizer.eosId;
    rows.forEach((row, r) => {
      // the first end-of-text after the start token; a row without one attends everywhere
      const end = this.parts.mask === "through-eos" && eos !== undefined ? row.indexOf(eos, 1) : -1;
      mask.fill(1n, r * length, r * length + (end < 0 ? length : end + 1));
    });
    return mask;
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
    await this.parts.session.release();
  }
}
