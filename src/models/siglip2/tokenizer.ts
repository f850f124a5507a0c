/**
 * SigLIP 2 text tokenisation, as transformers' GemmaTokenizerFast does it for google/siglip2-*
 * with the model card's call `tokenizer(text.lower(), padding="max_length", max_length=64,
 * truncation=True)`: Python's str.lower(), the tokenizer.json pieces (SentencePiece BPE with byte
 * fallback), `<bos>`/`<eos>` as tokenizer_config.json's add_bos_token/add_eos_token say (SigLIP 2
 * repositories: no `<bos>`, one `<eos>`), the content truncated to leave room for them, and
 * padding with the pad id (`<pad>`, 0) to the fixed length the model was trained with.
 *
 * The pieces come from @huggingface/tokenizers, which gives transformers' ids on every golden
 * caption (test/models/siglip2-tokenizer.test.ts); lowercasing is done here, the rest in
 * common/padded-tokenizer.ts.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { PaddedTokenizer, readTokenizerJson } from "../common/padded-tokenizer.js";

export interface Siglip2TokenizerOptions {
  /** The model's text length: 64 for every SigLIP 2 checkpoint. */
  length?: number;
  /** Lowercase first, as the model was trained (the model card's `text.lower()`). */
  lowercase?: boolean;
}

/**
 * Whether a model folder's tokenizer is Gemma's (SigLIP 2) rather than SigLIP's SentencePiece
 * unigram: tokenizer_config.json names a Gemma class, or, without one, tokenizer.json holds a
 * BPE model and there is no spiece.model.
 */
export function isGemmaTokenizer(dir: string): boolean {
  const configPath = join(dir, "tokenizer_config.json");
  const tokenizerClass = existsSync(configPath) ? readTokenizerJson(configPath).tokenizer_class : undefined;
  if (typeof tokenizerClass === "string") return /gemma/i.test(tokenizerClass);
  const jsonPath = join(dir, "tokenizer.json");
  return !existsSync(join(dir, "spiece.model")) && existsSync(jsonPath) && readTokenizerJson(jsonPath).model?.type === "BPE";
}

/** Gemma's special tokens as GemmaTokenizerFast defaults them (<bos> yes, <eos> no); SigLIP 2 folders set the flags. */
const GEMMA_DEFAULTS = { addBos: true, addEos: false, bos: "<bos>", eos: "<eos>", pad: "<pad>" };

/** The tokenizer of a SigLIP 2 model folder: its tokenizer.json, lowercasing first unless told not to. */
export function loadSiglip2Tokenizer(dir: string, { length = 64, lowercase = true }: Siglip2TokenizerOptions = {}): PaddedTokenizer {
  return PaddedTokenizer.load(dir, {
    length,
    defaults: GEMMA_DEFAULTS,
    lowercase,
    missing: (folder) => {
      const what = existsSync(join(folder, "tokenizer.model")) ? "has only tokenizer.model (SentencePiece)" : "has no tokenizer";
      return `${folder} ${what}: SigLIP 2 needs tokenizer.json, which transformers writes with GemmaTokenizerFast.from_pretrained(dir).save_pretrained(dir)`;
    },
  });
}
