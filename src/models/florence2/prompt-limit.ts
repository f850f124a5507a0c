/**
 * The longest prompt a Florence-2 model takes. Its text encoder has max_position_embeddings
 * positions (config.json), and the image's features fill image_seq_length of them
 * (preprocessor_config.json) before the prompt; a longer prompt fails inside onnxruntime with
 * its internals, so it is refused first, in one sentence.
 */
import { TaskError } from "./tasks.js";

export interface PromptLimit {
  tokens: number;
  /** Where the number comes from, for the refusal. */
  why: string;
}

/** A prompt longer than the model takes: a usage error, like an unknown task. */
export class PromptTooLongError extends TaskError {}

const count = (n: number) => n.toLocaleString("en-US");

/** The limit from the model's config.json (`config`) and preprocessor_config.json; undefined when they do not say. */
export function promptLimit(config: Record<string, unknown>, preprocessor: Record<string, unknown>): PromptLimit | undefined {
  const text = (config.text_config ?? config) as Record<string, unknown>;
  const positions = text.max_position_embeddings;
  if (typeof positions !== "number" || !Number.isInteger(positions) || positions <= 0) return undefined;
  const imageTokens = preprocessor.image_seq_length;
  if (typeof imageTokens !== "number" || !Number.isInteger(imageTokens) || imageTokens <= 0 || imageTokens >= positions) {
    return { tokens: positions, why: `max_position_embeddings ${count(positions)}` };
  }
  return { tokens: positions - imageTokens, why: `max_position_embeddings ${count(positions)} less the image's ${count(imageTokens)} tokens` };
}

/** Longer prompts are counted on this many leading characters first: enough to refuse any that is too long without tokenising megabytes. */
const HEAD_CHARS = 64 * 1024;

/** The prompt's ids from `encode`, or PromptTooLongError naming both counts and `what` to shorten. */
export function checkedPromptIds(prompt: string, encode: (text: string) => number[], limit: PromptLimit | undefined, what: string): number[] {
  const tooLong = (tokens: string) =>
    new PromptTooLongError(`the prompt has ${tokens} tokens; this model takes at most ${count(limit!.tokens)} (${limit!.why}); shorten ${what}`);
  if (limit && prompt.length > HEAD_CHARS) {
    const head = prompt.slice(0, HEAD_CHARS);
    // Cut at a space: the head's tokens are then the first of the whole prompt's.
    const space = head.lastIndexOf(" ");
    const counted = encode(space > HEAD_CHARS / 2 ? head.slice(0, space) : head).length;
    if (counted > limit.tokens) throw tooLong(`at least ${count(counted)}`);
  }
  const ids = encode(prompt);
  if (limit && ids.length > limit.tokens) throw tooLong(count(ids.length));
  return ids;
}
