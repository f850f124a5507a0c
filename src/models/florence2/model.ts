/**
 * Florence-2 adapter: the four-part ONNX layout of hub exports (onnx-community/Florence-2-*):
 * vision_encoder (pixels -> image features), embed_tokens (ids -> embeddings), encoder_model
 * (image features + prompt -> encoder states) and decoder_model_merged (one decoder step, with
 * `use_cache_branch` choosing between the first step and the steps that reuse the KV cache).
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { StepDecoder } from "../../generation/decoder.js";
import { generate } from "../../generation/generate.js";
import { generationSettings, type GenerationOverrides, type GenerationSettings } from "../../generation/settings.js";
import type { ImagePreprocessing } from "../../pipeline/normalize.js";
import { ModelSession, type SessionOptions, type Tensor } from "../../runtime/session.js";
import { ModelLayoutError, readPreprocessing } from "../preprocessing.js";
import { listedFiles } from "../siglip.js";
import { availableDtypes, DTYPE_SUFFIX, graphWithWeights, type Dtype } from "../variants.js";

export const DEFAULT_FLORENCE2_MODEL = "onnx-community/Florence-2-large-ft";
const PARTS = ["vision_encoder", "embed_tokens", "encoder_model", "decoder_model_merged"] as const;
type Part = (typeof PARTS)[number];

function partFile(files: string[], part: Part, dtype: Dtype): string {
  const file = `onnx/${part}${DTYPE_SUFFIX[dtype]}.onnx`;
  if (files.includes(file)) return file;
  const variants = availableDtypes(files, `onnx/${part}`);
  throw new ModelLayoutError(
    `no Florence-2 ${part} graph for --dtype ${dtype}: looked for ${file}; ` +
      (variants.length > 0 ? `this model has: ${variants.join(", ")}` : "the model needs onnx/vision_encoder, embed_tokens, encoder_model and decoder_model_merged"),
  );
}

/** The files a Florence-2 run needs from a repository. */
export function florence2Files(dtype: Dtype): (files: string[]) => string[] {
  return (files) => [
    ...["config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json"],
    ...(files.includes("generation_config.json") ? ["generation_config.json"] : []),
    ...PARTS.flatMap((part) => graphWithWeights(files, partFile(files, part, dtype))),
  ];
}

export interface Florence2Info {
  dtype: Dtype;
  provider: string;
  dModel: number;
  decoderLayers: number;
  decoderHeads: number;
  vocabSize: number;
}

/** Encoder states of a batch of images with their prompts, right-padded to a common length. */
export interface Encoded {
  items: number;
  length: number;
  hidden: Float32Array;
  mask: BigInt64Array;
}

export class Florence2Model {
  private constructor(
    private readonly sessions: Record<Part, ModelSession>,
    readonly tokenizer: Tokenizer,
    readonly preprocessing: ImagePreprocessing,
    readonly generationConfig: Record<string, unknown>,
    readonly info: Florence2Info,
  ) {}

  static async load(dir: string, dtype: Dtype, options: SessionOptions): Promise<Florence2Model> {
    const files = listedFiles(dir);
    if (files.length === 0) throw new ModelLayoutError(`${dir} has no onnx/ folder with Florence-2 graphs`);
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    const text = config.text_config ?? config;
    const generationPath = join(dir, "generation_config.json");
    // Without generation_config.json, transformers takes these settings from the text config.
    const generationConfig = existsSync(generationPath) ? JSON.parse(readFileSync(generationPath, "utf8")) : { ...text };
    const sessions = {} as Record<Part, ModelSession>;
    for (const part of PARTS) sessions[part] = await ModelSession.open(join(dir, partFile(files, part, dtype)), options);
    const tokenizer = new Tokenizer(
      JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")),
      JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")),
    );
    return new Florence2Model(sessions, tokenizer, readPreprocessing(dir), generationConfig, {
      dtype,
      provider: sessions.decoder_model_merged.provider,
      dModel: text.d_model,
      decoderLayers: text.decoder_layers,
      decoderHeads: text.decoder_attention_heads,
      vocabSize: text.vocab_size,
    });
  }

  settings(overrides: GenerationOverrides = {}): GenerationSettings {
    return generationSettings(this.generationConfig, overrides);
  }

  /** `<s>` prompt `</s>`, as the processor tokenises it. */
  encodePrompt(prompt: string): number[] {
    return this.tokenizer.encode(prompt).ids;
  }

  /** The generated ids as text with special tokens kept: what post-processing parses. */
  decode(ids: number[]): string {
    return this.tokenizer.decode(ids, { skip_special_tokens: false });
  }

  /** Generates for a batch of preprocessed images (CHW float32 each) and their prompt ids. */
  async generate(images: Float32Array[], prompts: number[][], settings: GenerationSettings): Promise<number[][]> {
    const encoded = await this.encode(images, prompts);
    return generate(new CachedDecoder(this.sessions.decoder_model_merged, this.sessions.embed_tokens, encoded, this.info), images.length, settings);
  }

  async encode(images: Float32Array[], prompts: number[][]): Promise<Encoded> {
    const { width, height } = this.preprocessing;
    const items = images.length;
    const pixels = new Float32Array(items * 3 * width * height);
    images.forEach((image, i) => pixels.set(image, i * image.length));
    const features = (await this.sessions.vision_encoder.run({ pixel_values: { type: "float32", data: pixels, dims: [items, 3, height, width] } })).image_features;
    const [, imageTokens, d] = features.dims;
    // Prompts of different lengths are right-padded and masked: positions of real tokens stay put.
    const promptLength = Math.max(...prompts.map((p) => p.length));
    const ids = new BigInt64Array(items * promptLength).fill(BigInt(Number(this.generationConfig.pad_token_id ?? 1)));
    prompts.forEach((p, i) => p.forEach((id, j) => (ids[i * promptLength + j] = BigInt(id))));
    const embedded = (await this.sessions.embed_tokens.run({ input_ids: { type: "int64", data: ids, dims: [items, promptLength] } })).inputs_embeds;
    const length = imageTokens + promptLength;
    const joined = new Float32Array(items * length * d);
    const mask = new BigInt64Array(items * length);
    for (let i = 0; i < items; i++) {
      joined.set((features.data as Float32Array).subarray(i * imageTokens * d, (i + 1) * imageTokens * d), i * length * d);
      joined.set((embedded.data as Float32Array).subarray(i * promptLength * d, (i + 1) * promptLength * d), (i * length + imageTokens) * d);
      mask.fill(1n, i * length, i * length + imageTokens + prompts[i].length);
    }
    const hidden = (
      await this.sessions.encoder_model.run({
        inputs_embeds: { type: "float32", data: joined, dims: [items, length, d] },
        attention_mask: { type: "int64", data: mask, dims: [items, length] },
      })
    ).last_hidden_state;
    return { items, length, hidden: hidden.data as Float32Array, mask };
  }

  async release(): Promise<void> {
    for (const part of PARTS) await this.sessions[part].release();
  }
}

/**
 * The merged decoder with its KV cache, as a StepDecoder. Rows are hypotheses; the cache and the
 * encoder inputs follow them: decoder self-attention entries are gathered by parent row every
 * step (beams reorder), cross-attention entries and encoder states only when the rows' items
 * change (a finished item left), since all beams of an item share them.
 */
class CachedDecoder implements StepDecoder {
  readonly vocabSize: number;
  private past = new Map<string, Tensor & { type: "float32" }>();
  private rowItems: number[] = [];
  private hidden?: Tensor & { type: "float32" };
  private mask?: Tensor & { type: "int64" };

  constructor(
    private readonly decoder: ModelSession,
    private readonly embedTokens: ModelSession,
    private readonly encoded: Encoded,
    private readonly info: Florence2Info,
  ) {
    this.vocabSize = info.vocabSize;
  }

  async step(tokens: number[], parents: number[]): Promise<Float32Array> {
    const rows = tokens.length;
    const firstStep = this.rowItems.length === 0;
    const items = firstStep ? parents : parents.map((p) => this.rowItems[p]);
    const itemsChanged = firstStep || items.length !== this.rowItems.length || items.some((item, i) => item !== this.rowItems[i]);
    const { length } = this.encoded;
    const d = this.info.dModel;
    if (itemsChanged) {
      this.hidden = { type: "float32", data: gatherRows(this.encoded.hidden, length * d, items), dims: [rows, length, d] };
      this.mask = { type: "int64", data: gatherRows(this.encoded.mask, length, items), dims: [rows, length] };
    }
    const heads = this.info.decoderHeads;
    const headDim = d / heads;
    const feeds: Record<string, Tensor> = {
      inputs_embeds: (await this.embedTokens.run({ input_ids: { type: "int64", data: BigInt64Array.from(tokens, BigInt), dims: [rows, 1] } })).inputs_embeds,
      encoder_hidden_states: this.hidden!,
      encoder_attention_mask: this.mask!,
      use_cache_branch: { type: "bool", data: Uint8Array.of(firstStep ? 0 : 1), dims: [1] },
    };
    for (let layer = 0; layer < this.info.decoderLayers; layer++) {
      for (const side of ["decoder", "encoder"]) {
        for (const kv of ["key", "value"]) {
          const name = `past_key_values.${layer}.${side}.${kv}`;
          const cached = this.past.get(name);
          if (firstStep || !cached) {
            feeds[name] = { type: "float32", data: new Float32Array(0), dims: [rows, heads, 0, headDim] };
          } else if (side === "decoder" || itemsChanged) {
            const [, h, t, hd] = cached.dims;
            feeds[name] = { type: "float32", data: gatherRows(cached.data, h * t * hd, parents), dims: [rows, h, t, hd] };
          } else {
            feeds[name] = cached;
          }
        }
      }
    }
    const out = await this.decoder.run(feeds);
    for (const name of Object.keys(feeds)) {
      if (!name.startsWith("past_key_values.")) continue;
      // The cross-attention cache is computed at the first step; later steps may return placeholders.
      if (name.includes(".encoder.") && !firstStep) this.past.set(name, feeds[name] as Tensor & { type: "float32" });
      else this.past.set(name, out[name.replace("past_key_values", "present")] as Tensor & { type: "float32" });
    }
    this.rowItems = items;
    const logits = out.logits;
    const steps = logits.dims[1];
    if (steps === 1) return logits.data as Float32Array;
    const last = new Float32Array(rows * this.vocabSize);
    for (let r = 0; r < rows; r++) last.set((logits.data as Float32Array).subarray(((r + 1) * steps - 1) * this.vocabSize, (r + 1) * steps * this.vocabSize), r * this.vocabSize);
    return last;
  }
}

/** Rows `rows` of a row-major array whose rows hold `width` elements. */
function gatherRows<T extends Float32Array | BigInt64Array>(data: T, width: number, rows: number[]): T {
  const out = new (data.constructor as { new (n: number): T })(rows.length * width);
  rows.forEach((r, i) => out.set(data.subarray(r * width, (r + 1) * width) as never, i * width));
  return out;
}
