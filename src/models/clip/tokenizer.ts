/**
 * CLIP text tokenisation, as transformers' CLIPTokenizerFast does it with `padding="max_length",
 * max_length=77, truncation=True`: the repository's tokenizer.json (NFC, whitespace collapsed,
 * lowercased, byte-level BPE with `</w>` word ends) gives the pieces, then `<|startoftext|>` and
 * `<|endoftext|>` around at most 75 of them, padded with the pad token (openai/clip-vit-*:
 * `<|endoftext|>`; some OpenCLIP conversions: `!`). Equal to transformers on fuzzed captions with
 * the real 49,408-token vocabulary (test/models/clip-tokenizer.test.ts).
 */
import { ModelLayoutError } from "../common/layout.js";
import { PaddedTokenizer } from "../common/padded-tokenizer.js";

const CLIP_DEFAULTS = { addBos: true, addEos: true, bos: "<|startoftext|>", eos: "<|endoftext|>", pad: "<|endoftext|>" };

export function loadClipTokenizer(dir: string, length = 77): PaddedTokenizer {
  const tokenizer = PaddedTokenizer.load(dir, {
    length,
    defaults: CLIP_DEFAULTS,
    missing: (folder) =>
      `${folder} has no tokenizer.json: CLIP needs it, which transformers writes with CLIPTokenizerFast.from_pretrained(dir).save_pretrained(dir)`,
  });
  // the text tower's mask runs from the start through <|endoftext|>: padding first would break it
  if (tokenizer.padLeft) {
    throw new ModelLayoutError(
      `${dir}/tokenizer_config.json pads on the left (padding_side "left"); CLIP pools at <|endoftext|> and is run padded on the right`,
    );
  }
  return tokenizer;
}
