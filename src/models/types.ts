/**
 * What the pipelines and commands need of a model, whatever its family. Three roles: an image
 * embedder and a text embedder (SigLIP's towers today) and an image-to-text model (Florence-2).
 * The registry opens the family behind each role; nothing outside src/models names a family.
 */
import type { GenerationOverrides, GenerationSettings } from "../generation/settings.js";
import type { ImagePreprocessing } from "../image/normalize.js";

/** Every loaded model: a description for run.json and reports, and a way to free its sessions. */
export interface LoadedModel {
  readonly info: { provider: string; dtype: string };
  release(): Promise<void>;
}

export interface EmbedderInfo {
  /** The graph file that runs, relative to the model folder. */
  graph: string;
  dtype: string;
  /** The graph output read as the embedding. */
  output: string;
  /** The output is already L2-normalised. */
  normalizedByModel: boolean;
  dim: number;
  provider: string;
  /** DINOv2: the tokens the embedding is made of (recorded in output fingerprints). */
  pooling?: "cls" | "mean";
}

export interface ImageEmbedder extends LoadedModel {
  readonly info: EmbedderInfo;
  readonly preprocessing: ImagePreprocessing;
  readonly dim: number;
  /** One vector per preprocessed image (CHW float32). */
  embed(images: Float32Array[]): Promise<Float32Array[]>;
}

export interface TokenizedText {
  ids: number[];
  /** The text had more tokens than fit and lost its tail. */
  truncated: boolean;
}

export interface TextEmbedder extends LoadedModel {
  /** `tokenizer`: how captions are tokenised, where it is not SigLIP's (SigLIP 2: Gemma's, lowercased or not). */
  readonly info: EmbedderInfo & { length: number; vocabSize: number; tokenizer?: { kind: string; lowercase?: boolean } };
  readonly tokenizer: {
    encode(text: string): TokenizedText;
    /** The id ending every caption, when the model's tokenizer adds one. */
    eosId: number | undefined;
    padId: number;
    /** Captions are lowercased before tokenising (SigLIP 2, trained on lowercased text). */
    readonly lowercase?: boolean;
  };
  /** One vector per row of exactly `info.length` token ids. */
  embedIds(rows: number[][]): Promise<Float32Array[]>;
  embedTexts(texts: string[]): Promise<Float32Array[]>;
}

export interface ImageSize {
  width: number;
  height: number;
}

export interface ImageToText extends LoadedModel {
  readonly info: { provider: string; dtype: string; graphs: string[] };
  readonly preprocessing: ImagePreprocessing;
  /** The model's generation settings with the given overrides. */
  settings(overrides?: GenerationOverrides): GenerationSettings;
  /** The prompt's token ids; a PromptTooLongError (a TaskError) past the model's limit, naming `what` to shorten (default "the text"). */
  encodePrompt(prompt: string, what?: string): number[];
  /** Generated ids as text, special tokens kept: what `parse` reads. */
  decode(ids: number[]): string;
  generate(images: Float32Array[], prompts: number[][], settings: GenerationSettings): Promise<number[][]>;
  /** The task's answer from generated text, coordinates in the image's own pixels. */
  parse(task: string, generated: string, size: ImageSize): Record<string, unknown>;
}

/**
 * Image-text logits: scale * cos + bias. As probabilities: SigLIP's sigmoid of each label's logit
 * (`probabilities` absent), or CLIP's softmax over the labels (bias 0).
 */
export interface LogitParameters {
  /** exp(logit_scale): the multiplier of the cosine. */
  scale: number;
  bias: number;
  probabilities?: "softmax";
}
