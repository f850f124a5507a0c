/**
 * Generation settings, read from a model's generation_config.json as transformers reads them
 * and overridable per run. Florence-2 ships num_beams 3, no_repeat_ngram_size 3, early_stopping,
 * forced BOS and EOS.
 */

export interface GenerationSettings {
  numBeams: number;
  maxNewTokens: number;
  /** End-of-sequence is suppressed until this many tokens were generated. */
  minNewTokens: number;
  /** 0 disables the n-gram ban. */
  noRepeatNgramSize: number;
  /** true: stop once num_beams hypotheses finished; false: stop when none can improve; "never": run to the length limit's bound. */
  earlyStopping: boolean | "never";
  lengthPenalty: number;
  decoderStartTokenId: number;
  eosTokenId: number;
  padTokenId: number;
  forcedBosTokenId?: number;
  forcedEosTokenId?: number;
}

/** What a run may override; undefined keeps the model's value. */
export type GenerationOverrides = Partial<
  Pick<GenerationSettings, "numBeams" | "maxNewTokens" | "minNewTokens" | "noRepeatNgramSize" | "earlyStopping" | "lengthPenalty">
>;

/** transformers' defaults for what a generation config leaves out. */
const DEFAULTS = { num_beams: 1, no_repeat_ngram_size: 0, early_stopping: false, length_penalty: 1.0 };

/** Florence-2's processors are used with max_new_tokens 1024 (the model's 1025 positions minus the start token). */
export const DEFAULT_MAX_NEW_TOKENS = 1024;

export function generationSettings(config: Record<string, unknown>, overrides: GenerationOverrides = {}): GenerationSettings {
  const number = (key: string, fallback?: number): number => {
    const value = config[key] ?? fallback;
    if (typeof value !== "number") throw new Error(`generation_config.json has no numeric ${key}`);
    return value;
  };
  const optional = (key: string) => (typeof config[key] === "number" ? (config[key] as number) : undefined);
  const early = config.early_stopping ?? DEFAULTS.early_stopping;
  const settings: GenerationSettings = {
    numBeams: overrides.numBeams ?? number("num_beams", DEFAULTS.num_beams),
    maxNewTokens: overrides.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS,
    minNewTokens: overrides.minNewTokens ?? 0,
    noRepeatNgramSize: overrides.noRepeatNgramSize ?? number("no_repeat_ngram_size", DEFAULTS.no_repeat_ngram_size),
    earlyStopping: overrides.earlyStopping ?? (early === "never" ? "never" : Boolean(early)),
    lengthPenalty: overrides.lengthPenalty ?? number("length_penalty", DEFAULTS.length_penalty),
    decoderStartTokenId: number("decoder_start_token_id"),
    eosTokenId: number("eos_token_id"),
    padTokenId: number("pad_token_id", number("eos_token_id")),
    forcedBosTokenId: optional("forced_bos_token_id"),
    forcedEosTokenId: optional("forced_eos_token_id"),
  };
  if (settings.numBeams < 1) throw new RangeError(`num_beams must be at least 1, not ${settings.numBeams}`);
  if (settings.maxNewTokens < 1) throw new RangeError(`max_new_tokens must be at least 1, not ${settings.maxNewTokens}`);
  if (settings.minNewTokens > settings.maxNewTokens) {
    throw new RangeError(`min_new_tokens (${settings.minNewTokens}) is larger than max_new_tokens (${settings.maxNewTokens})`);
  }
  return settings;
}
