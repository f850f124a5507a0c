/**
 * Zero-shot classification: each image against a set of label prompts, ranked by SigLIP's
 * sigmoid probability. Images are prepared by the worker pool and embedded in batches.
 */
import type { ImageEmbedder, LogitParameters, TextEmbedder } from "../models/types.js";
import type { DecodeOptions } from "./decode.js";
import { l2normalize } from "./normalize.js";
import { PreparePool, REQUESTS_PER_WORKER, type PrepareReply } from "./prepare-pool.js";
import { walkImages } from "./source.js";

/** SigLIP's zero-shot prompt; `{}` is replaced by the label. */
export const DEFAULT_TEMPLATE = "This is a photo of {}.";

export interface ClassifyOptions {
  inputs: string[];
  labels: string[];
  template: string;
  extensions?: string[];
  /** Decoding: the pixel limit and what to do with embedded colour profiles. */
  decode?: DecodeOptions;
  batchSize: number;
  workers: number;
  /** How many labels to report per image (all when larger than the label count). */
  top: number;
}

export type Classification =
  | { path: string; labels: { label: string; probability: number }[] }
  | { path: string; error: string; reason: string };

export function prompt(template: string, label: string): string {
  // A replacer function, so "$&" or "$1" in a label stays literal.
  return template.includes("{}") ? template.replaceAll("{}", () => label) : `${template} ${label}`;
}

export async function* classifyImages(
  imageModel: ImageEmbedder,
  textModel: TextEmbedder,
  logits: LogitParameters,
  options: ClassifyOptions,
): AsyncGenerator<Classification> {
  const prompts = (await textModel.embedTexts(options.labels.map((l) => prompt(options.template, l)))).map(l2normalize);
  const pool = new PreparePool(options.workers);
  try {
    const window: { path: string; reply: Promise<PrepareReply> }[] = [];
    const source = walkImages(options.inputs, { extensions: options.extensions })[Symbol.asyncIterator]();
    let exhausted = false;
    const refill = async () => {
      while (!exhausted && window.length < Math.max(options.batchSize, REQUESTS_PER_WORKER * options.workers)) {
        const next = await source.next();
        if (next.done) exhausted = true;
        else window.push({ path: next.value.path, reply: pool.prepare(next.value.path, imageModel.preprocessing, options.decode ?? {}) });
      }
    };
    await refill();
    while (window.length > 0) {
      const batch = window.splice(0, options.batchSize);
      await refill();
      const replies = await Promise.all(batch.map(async (b) => ({ path: b.path, reply: await b.reply })));
      const ready = replies.filter((r) => r.reply.ok);
      const vectors = ready.length > 0 ? await imageModel.embed(ready.map((r) => (r.reply as Extract<PrepareReply, { ok: true }>).pixels)) : [];
      let v = 0;
      for (const { path, reply } of replies) {
        if (!reply.ok) {
          yield { path, error: reply.error, reason: reply.reason };
          continue;
        }
        const image = l2normalize(vectors[v++]);
        const ranked = options.labels
          .map((label, j) => ({ label, probability: matchProbability(image, prompts[j], logits) }))
          .sort((a, b) => b.probability - a.probability)
          .slice(0, options.top);
        yield { path, labels: ranked };
      }
    }
  } finally {
    await pool.close();
  }
}

/** Probability that the caption matches the image, both given as unit vectors: sigmoid(scale * cos + bias). */
export function matchProbability(image: Float32Array, text: Float32Array, p: LogitParameters): number {
  let cos = 0;
  for (let i = 0; i < image.length; i++) cos += image[i] * text[i];
  return 1 / (1 + Math.exp(-(p.scale * cos + p.bias)));
}
