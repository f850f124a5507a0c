/**
 * Florence-2 adapter: the four-part ONNX layout of hub exports (onnx-community/Florence-2-*):
 * vision_encoder (pixels -> image features), embed_tokens (ids -> embeddings), encoder_model
 * (image features + prompt -> encoder states) and the decoder, one step at a time with a KV
 * cache. The decoder comes merged (`decoder_model_merged`, `use_cache_branch` choosing between
 * the first step and the steps that reuse the cache) or, for some dtypes, as the unmerged pair
 * `decoder_model` (first step) + `decoder_with_past_model` (later steps). Each part may have
 * its own dtype, as transformers.js allows (`embed_tokens=fp16,decoder_model_merged=q4`).
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { asRustReadsIt } from "../common/padded-tokenizer.js";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { StepDecoder } from "../../generation/decoder.js";
import { generate } from "../../generation/generate.js";
import { generationSettings, type GenerationOverrides, type GenerationSettings } from "../../generation/settings.js";
import type { ImagePreprocessing } from "../../image/normalize.js";
import { ModelSession, type MemoryOptions, type SessionOptions, type Tensor } from "../../runtime/session.js";
import { describeOffer, findGraph, graphFile, graphWithWeights, modelFiles, ModelLayoutError } from "../common/layout.js";
import { readManifest } from "../common/manifest.js";
import { readPreprocessing } from "../common/preprocessing.js";
import type { ImageSize } from "../types.js";
import { postProcess, type TaskAnswer } from "./postprocess.js";
import { checkedPromptIds, promptLimit, type PromptLimit } from "./prompt-limit.js";
import { DTYPES, dtypeFor, formatDtypeSpec, parseDtypeSpec, type Dtype, type DtypeSpec } from "../common/variants.js";

/** The default model: its hub id comes from the manifest in models/. */
export const DEFAULT_FLORENCE2_MODEL: string = readManifest("florence-2-large-ft").hubId;

const ENCODER_PARTS = ["vision_encoder", "embed_tokens", "encoder_model"] as const;
type EncoderPart = (typeof ENCODER_PARTS)[number];

/** Part names `--dtype` accepts; every decoder name sets the decoder, merged or not. */
const DTYPE_PARTS: Record<string, string> = {
  vision_encoder: "vision_encoder",
  embed_tokens: "embed_tokens",
  encoder_model: "encoder_model",
  decoder: "decoder",
  decoder_model_merged: "decoder",
  decoder_model: "decoder",
  decoder_with_past_model: "decoder",
};

export function parseFlorence2Dtype(text: string): DtypeSpec {
  return parseDtypeSpec(text, DTYPE_PARTS);
}

/** The graph files chosen for each part, relative to the model folder. */
export interface Florence2Layout {
  vision_encoder: string;
  embed_tokens: string;
  encoder_model: string;
  /** The merged decoder, or the first-step and later-step graphs of the unmerged pair. */
  decoder: { merged: string } | { first: string; withPast: string };
  dtypes: Record<EncoderPart | "decoder", Dtype>;
}

/** Where a layout could not be completed: the part, the files looked for and the stems offering it. */
interface MissingPart {
  part: string;
  looked: string[];
  stems: string[];
}

function findLayout(files: string[], spec: DtypeSpec): Florence2Layout | MissingPart {
  const encoders = {} as Record<EncoderPart, string>;
  for (const part of ENCODER_PARTS) {
    const stem = `onnx/${part}`;
    const found = findGraph(files, [stem], dtypeFor(spec, part));
    if (!found) return { part, looked: [graphFile(stem, dtypeFor(spec, part))], stems: [stem] };
    encoders[part] = found.file;
  }
  const d = dtypeFor(spec, "decoder");
  const merged = graphFile("onnx/decoder_model_merged", d);
  const first = graphFile("onnx/decoder_model", d);
  const withPast = graphFile("onnx/decoder_with_past_model", d);
  let decoder: Florence2Layout["decoder"];
  if (files.includes(merged)) decoder = { merged };
  else if (files.includes(first) && files.includes(withPast)) decoder = { first, withPast };
  else return { part: "decoder", looked: [merged, `${first} with ${withPast}`], stems: ["onnx/decoder_model_merged", "onnx/decoder_with_past_model"] };
  const dtypes = { ...Object.fromEntries(ENCODER_PARTS.map((p) => [p, dtypeFor(spec, p)])), decoder: d } as Florence2Layout["dtypes"];
  return { ...encoders, decoder, dtypes };
}

/** The graphs for `spec`; when a part is missing, the error lists what the model has and the dtypes it is complete in. */
export function chooseFlorence2Layout(files: string[], spec: DtypeSpec): Florence2Layout {
  const found = findLayout(files, spec);
  if (!("part" in found)) return found;
  const { part, looked, stems } = found;
  const flag = (d: Dtype) => `--dtype ${formatDtypeSpec({ fallback: spec.fallback, parts: { ...spec.parts, [part]: d } })}`;
  const complete = DTYPES.filter((d) => !("part" in findLayout(files, { fallback: d, parts: {} })));
  throw new ModelLayoutError(
    `no Florence-2 ${part} graph for --dtype ${formatDtypeSpec(spec)}: looked for ${looked.join(", ")}; ${describeOffer(files, stems, flag)}` +
      (complete.length > 0 ? `; every part exists for ${complete.map((d) => `--dtype ${d}`).join(", ")}` : ""),
  );
}

function layoutGraphs(layout: Florence2Layout): string[] {
  const decoder = "merged" in layout.decoder ? [layout.decoder.merged] : [layout.decoder.first, layout.decoder.withPast];
  return [layout.vision_encoder, layout.embed_tokens, layout.encoder_model, ...decoder];
}

/** The files a Florence-2 run needs from a repository. */
export function florence2Files(spec: DtypeSpec): (files: string[]) => string[] {
  return (files) => [
    ...["config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json"],
    ...(files.includes("generation_config.json") ? ["generation_config.json"] : []),
    ...layoutGraphs(chooseFlorence2Layout(files, spec)).flatMap((graph) => graphWithWeights(files, graph)),
  ];
}

export interface Florence2Info {
  /** `--dtype` as given, normalised; `graphs` names the file each part runs. */
  dtype: string;
  graphs: string[];
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

type VisionConfig = { embed_dim?: number[]; patch_stride?: number[] };

/**
 * The vision encoder's (DaViT's) first-stage output for one image, in bytes: embed_dim[0]
 * channels at 1/patch_stride[0] of the image side. Its peak activations are about 16 times this:
 * ~0.6 GB per 768x768 image on Florence-2-large, ~20 MB on the tiny test model.
 */
function visionFirstStageBytes(vision: VisionConfig, size: { width: number; height: number }): number {
  const channels = vision.embed_dim?.[0] ?? 256;
  const stride = vision.patch_stride?.[0] ?? 4;
  return channels * Math.ceil(size.width / stride) * Math.ceil(size.height / stride) * 4;
}

/** The first-stage activations one vision-encoder run may hold on the CPU; see visionImagesPerRun. */
const VISION_FIRST_STAGE_BUDGET_BYTES = 64 * 2 ** 20;
/** From this first-stage size per image on, the encoders' activations are too big to keep. */
const LARGE_ACTIVATION_BYTES = 8 * 2 ** 20;

/**
 * How many images the vision encoder takes per run on the CPU: as many as keep its first stage
 * under the budget (Florence-2-large: 1 image, base: 3, the tiny test model: a whole batch). On
 * the CPU larger runs gain nothing, and with the arena off each run's buffers are freed before
 * the next.
 */
export function visionImagesPerRun(vision: VisionConfig, size: { width: number; height: number }): number {
  return Math.max(1, Math.floor(VISION_FIRST_STAGE_BUDGET_BYTES / visionFirstStageBytes(vision, size)));
}

/**
 * How each graph holds memory, chosen by measurement (bench/RESULTS.md). Where the encoders'
 * activations are large (Florence-2-base and -large), the vision encoder and encoder run without
 * onnxruntime's arena, which would keep the ~5 GB peak of a batch for the life of the session,
 * and without packed weight copies (~0.8 GB on large; their products have hundreds of rows, so
 * packing on the fly costs little). Small models keep both: there the arena saves ~40% of the
 * encoders' time. The decoder runs a few rows per step, where packed weights pay; its arena stays small.
 */
export function partMemory(vision: VisionConfig, size: { width: number; height: number }): Record<EncoderPart | "decoder", MemoryOptions> {
  const encoders: MemoryOptions = visionFirstStageBytes(vision, size) >= LARGE_ACTIVATION_BYTES ? { arena: false, prepack: false } : {};
  return { vision_encoder: encoders, encoder_model: encoders, embed_tokens: {}, decoder: {} };
}

/** The decoder's sessions: the same one twice when merged. */
interface DecoderSessions {
  first: ModelSession;
  next: ModelSession;
}

export class Florence2Model {
  private constructor(
    private readonly sessions: Record<EncoderPart, ModelSession>,
    private readonly decoder: DecoderSessions,
    readonly tokenizer: Tokenizer,
    readonly preprocessing: ImagePreprocessing,
    private readonly visionImagesPerRun: number,
    readonly generationConfig: Record<string, unknown>,
    readonly info: Florence2Info,
    /** The longest prompt the text encoder takes beside the image's tokens (see prompt-limit.ts). */
    readonly promptLimit: PromptLimit | undefined,
  ) {}

  static async load(dir: string, spec: DtypeSpec, options: SessionOptions): Promise<Florence2Model> {
    const layout = chooseFlorence2Layout(modelFiles(dir), spec);
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    const text = config.text_config ?? config;
    const generationPath = join(dir, "generation_config.json");
    // Without generation_config.json, transformers takes these settings from the text config.
    const generationConfig = existsSync(generationPath) ? JSON.parse(readFileSync(generationPath, "utf8")) : { ...text };
    const preprocessing = readPreprocessing(dir);
    const vision: VisionConfig = config.vision_config ?? {};
    const memory = partMemory(vision, preprocessing);
    const open = (file: string, part: EncoderPart | "decoder") => ModelSession.open(join(dir, file), { ...options, memory: memory[part] });
    const sessions = {} as Record<EncoderPart, ModelSession>;
    for (const part of ENCODER_PARTS) sessions[part] = await open(layout[part], part);
    let decoder: DecoderSessions;
    if ("merged" in layout.decoder) {
      const merged = await open(layout.decoder.merged, "decoder");
      decoder = { first: merged, next: merged };
    } else {
      decoder = { first: await open(layout.decoder.first, "decoder"), next: await open(layout.decoder.withPast, "decoder") };
    }
    const tokenizer = new Tokenizer(
      asRustReadsIt(JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8"))),
      JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")),
    );
    const imagesPerRun = sessions.vision_encoder.provider === "cpu" ? visionImagesPerRun(vision, preprocessing) : Infinity;
    const limit = promptLimit(config, JSON.parse(readFileSync(join(dir, "preprocessor_config.json"), "utf8")));
    return new Florence2Model(
      sessions,
      decoder,
      tokenizer,
      preprocessing,
      imagesPerRun,
      generationConfig,
      {
        dtype: formatDtypeSpec(spec),
        graphs: layoutGraphs(layout),
        provider: decoder.next.provider,
        dModel: text.d_model,
        decoderLayers: text.decoder_layers,
        decoderHeads: text.decoder_attention_heads,
        vocabSize: text.vocab_size,
      },
      limit,
    );
  }

  settings(overrides: GenerationOverrides = {}): GenerationSettings {
    return generationSettings(this.generationConfig, overrides);
  }

  /** `<s>` prompt `</s>`, as the processor tokenises it; PromptTooLongError past the model's limit, naming `what` to shorten. */
  encodePrompt(prompt: string, what = "the text"): number[] {
    return checkedPromptIds(prompt, (text) => this.tokenizer.encode(text).ids, this.promptLimit, what);
  }

  /** The generated ids as text with special tokens kept: what post-processing parses. */
  decode(ids: number[]): string {
    return this.tokenizer.decode(ids, { skip_special_tokens: false });
  }

  /** The task's answer from generated text, as Florence2Processor.post_process_generation gives it. */
  parse(task: string, generated: string, size: ImageSize): Record<string, TaskAnswer> {
    return postProcess(task, generated, size);
  }

  /** Generates for a batch of preprocessed images (CHW float32 each) and their prompt ids. */
  async generate(images: Float32Array[], prompts: number[][], settings: GenerationSettings): Promise<number[][]> {
    const encoded = await this.encode(images, prompts);
    return generate(new CachedDecoder(this.decoder, this.sessions.embed_tokens, encoded, this.info), images.length, settings);
  }

  async encode(images: Float32Array[], prompts: number[][]): Promise<Encoded> {
    const { width, height } = this.preprocessing;
    const items = images.length;
    const pixels = new Float32Array(items * 3 * width * height);
    images.forEach((image, i) => pixels.set(image, i * image.length));
    const features = await this.imageFeatures(pixels, items);
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

  /** The vision encoder's features, [items, tokens, d], run `visionImagesPerRun` images at a time. */
  private async imageFeatures(pixels: Float32Array, items: number): Promise<Tensor & { type: "float32" }> {
    const session = this.sessions.vision_encoder;
    const { width, height } = this.preprocessing;
    const perImage = 3 * width * height;
    const step = Math.min(this.visionImagesPerRun, items);
    const parts: Float32Array[] = [];
    let dims: number[] = [];
    for (let first = 0; first < items; first += step) {
      const count = Math.min(step, items - first);
      const pixel_values: Tensor = { type: "float32", data: pixels.subarray(first * perImage, (first + count) * perImage), dims: [count, 3, height, width] };
      const out = (await session.run({ pixel_values })).image_features;
      parts.push(out.data as Float32Array);
      dims = out.dims;
    }
    let data = parts[0];
    if (parts.length > 1) {
      data = new Float32Array(parts.reduce((sum, p) => sum + p.length, 0));
      let at = 0;
      for (const part of parts) {
        data.set(part, at);
        at += part.length;
      }
    }
    return { type: "float32", data, dims: [items, dims[1], dims[2]] };
  }

  async release(): Promise<void> {
    for (const part of ENCODER_PARTS) await this.sessions[part].release();
    await this.decoder.first.release();
    if (this.decoder.next !== this.decoder.first) await this.decoder.next.release();
  }
}

/**
 * The decoder with its KV cache, as a StepDecoder. Rows are hypotheses; the cache and the
 * encoder inputs follow them: decoder self-attention entries are gathered by parent row every
 * step (beams reorder), cross-attention entries and encoder states only when the rows' items
 * change (a finished item left), since all beams of an item share them. Each graph is fed the
 * inputs it declares: the unmerged with-past graph takes no encoder states and returns no
 * cross-attention entries, which then stay as the first step computed them.
 */
class CachedDecoder implements StepDecoder {
  readonly vocabSize: number;
  private past = new Map<string, Tensor & { type: "float32" }>();
  private rowItems: number[] = [];
  private hidden?: Tensor & { type: "float32" };
  private mask?: Tensor & { type: "int64" };
  private readonly cacheNames: string[] = [];

  constructor(
    private readonly decoder: DecoderSessions,
    private readonly embedTokens: ModelSession,
    private readonly encoded: Encoded,
    private readonly info: Florence2Info,
  ) {
    this.vocabSize = info.vocabSize;
    for (let layer = 0; layer < info.decoderLayers; layer++) {
      for (const side of ["decoder", "encoder"]) for (const kv of ["key", "value"]) this.cacheNames.push(`past_key_values.${layer}.${side}.${kv}`);
    }
  }

  async step(tokens: number[], parents: number[]): Promise<Float32Array> {
    const rows = tokens.length;
    const firstStep = this.rowItems.length === 0;
    const session = firstStep ? this.decoder.first : this.decoder.next;
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
    const pastIn = new Map<string, Tensor & { type: "float32" }>();
    for (const name of this.cacheNames) {
      const cached = this.past.get(name);
      if (firstStep || !cached) {
        pastIn.set(name, { type: "float32", data: new Float32Array(0), dims: [rows, heads, 0, headDim] });
      } else if (name.includes(".decoder.") || itemsChanged) {
        const [, h, t, hd] = cached.dims;
        pastIn.set(name, { type: "float32", data: gatherRows(cached.data, h * t * hd, parents), dims: [rows, h, t, hd] });
      } else {
        pastIn.set(name, cached);
      }
    }
    const available: Record<string, Tensor> = {
      inputs_embeds: (await this.embedTokens.run({ input_ids: { type: "int64", data: BigInt64Array.from(tokens, BigInt), dims: [rows, 1] } })).inputs_embeds,
      encoder_hidden_states: this.hidden!,
      encoder_attention_mask: this.mask!,
      use_cache_branch: { type: "bool", data: Uint8Array.of(firstStep ? 0 : 1), dims: [1] },
      ...Object.fromEntries(pastIn),
    };
    const feeds: Record<string, Tensor> = {};
    for (const name of session.inputNames) {
      if (!(name in available)) throw new ModelLayoutError(`${session.path} wants an input '${name}' that a Florence-2 decoder step does not have`);
      feeds[name] = available[name];
    }
    // The cross-attention cache is computed at the first step; later steps would only copy it
    // out again (a gigabyte per step at 24 rows of Florence-2-large), so it is not fetched.
    const wanted = session.outputNames.filter((name) => firstStep || !(name.startsWith("present.") && name.includes(".encoder.")));
    const out = await session.run(feeds, wanted);
    for (const name of this.cacheNames) {
      const present = out[name.replace("past_key_values", "present")] as (Tensor & { type: "float32" }) | undefined;
      if (name.includes(".encoder.") && !firstStep) this.past.set(name, pastIn.get(name)!);
      else if (present) this.past.set(name, present);
      else throw new ModelLayoutError(`${session.path} returns no ${name.replace("past_key_values", "present")}: the KV cache cannot continue`);
    }
    this.rowItems = items;
    const logits = out.logits;
    const steps = logits.dims[1];
    if (steps === 1) return logits.data as Float32Array;
    const last = new Float32Array(rows * this.vocabSize);
    for (let r = 0; r < rows; r++)
      last.set((logits.data as Float32Array).subarray(((r + 1) * steps - 1) * this.vocabSize, (r + 1) * steps * this.vocabSize), r * this.vocabSize);
    return last;
  }
}

/** Rows `rows` of a row-major array whose rows hold `width` elements. */
function gatherRows<T extends Float32Array | BigInt64Array>(data: T, width: number, rows: number[]): T {
  const out = new (data.constructor as { new (n: number): T })(rows.length * width);
  rows.forEach((r, i) => out.set(data.subarray(r * width, (r + 1) * width) as never, i * width));
  return out;
}
