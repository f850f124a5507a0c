/**
 * The logits processors Florence-2's generation uses, with transformers' semantics. Each works
 * on one hypothesis's scores in place; `sequence` is the hypothesis so far, decoder start token
 * included, so its length is transformers' `cur_len`.
 */
import type { GenerationSettings } from "./settings.js";

/** The length of a finished sequence: the start token plus max_new_tokens. */
export const maxLength = (s: GenerationSettings) => 1 + s.maxNewTokens;

export function processScores(scores: Float32Array, sequence: number[], s: GenerationSettings): void {
  const length = sequence.length;
  // Fewer new tokens than min_new_tokens: end-of-sequence is not allowed yet.
  if (length - 1 < s.minNewTokens) scores[s.eosTokenId] = -Infinity;
  if (s.noRepeatNgramSize > 0) banRepeatedNgrams(scores, sequence, s.noRepeatNgramSize);
  if (s.forcedBosTokenId !== undefined && length === 1) forceToken(scores, s.forcedBosTokenId);
  if (s.forcedEosTokenId !== undefined && length === maxLength(s) - 1) forceToken(scores, s.forcedEosTokenId);
}

/** Bans every token that would complete an n-gram the sequence already holds. */
export function banRepeatedNgrams(scores: Float32Array, sequence: number[], n: number): void {
  const length = sequence.length;
  if (length + 1 < n) return;
  const start = length - n + 1; // where the n-gram the next token completes begins
  for (let i = 0; i + n <= length; i++) {
    let same = true;
    for (let j = 0; j < n - 1 && same; j++) same = sequence[i + j] === sequence[start + j];
    if (same) scores[sequence[i + n - 1]] = -Infinity;
  }
}

function forceToken(scores: Float32Array, token: number): void {
  scores.fill(-Infinity);
  scores[token] = 0;
}

/**
 * log_softmax of one row, rounded to float32 as PyTorch computes it in float32; into `out` when
 * given (a search reuses one buffer: a row is 50k values, allocated per beam per step otherwise).
 * Indexed loops: Float32Array iterators cost as much as the exponentials here.
 */
export function logSoftmax(logits: Float32Array, out: Float32Array = new Float32Array(logits.length)): Float32Array {
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(logits[i] - max);
  const logSum = Math.log(sum);
  for (let i = 0; i < n; i++) out[i] = logits[i] - max - logSum;
  return out;
}
