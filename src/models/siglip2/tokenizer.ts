/**
 * SigLIP 2 text tokenisation, as transformers' GemmaTokenizerFast does it for google/siglip2-*
 * with the model card's call `tokenizer(text.lower(), padding="max_length", max_length=64,
 * truncation=True)`: Python's str.lower(), the tokenizer.json pieces (SentencePiece BPE with byte
 * fallback), `<bos>`/`<eos>` as tokenizer_config.json's add_bos_token/add_eos_token say (SigLIP 2
 * repositories: no `<bos>`, one `<eos>`), the content truncated to leave room for them, and
 * padding with the pad id (`<pad>`, 0) to the fixed length the model was trained with.
 *
 * The pieces come from @huggingface/tokenizers, which gives transformers' ids on every golden
 * caption (test/models/siglip2-tokenizer.test.ts); only lowercasing, the special tokens,
 * truncation and padding are done here.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { ModelLayoutError } from "../common/layout.js";

export interface TokenizedText {
  /** Exactly `length` ids, padded with the pad id. */
  ids: number[];
  /** The caption had more pieces than fit and lost its tail. */
  truncated: boolean;
}

export interface Siglip2TokenizerOptions {
  /** The model's text length: 64 for every SigLIP 2 checkpoint. */
  length?: number;
  /** Lowercase first, as the model was trained (the model card's `text.lower()`). */
  lowercase?: boolean;
}

/**
 * Characters whose lowercase mapping came with Unicode 16 or 17: Python up to 3.13 (Unicode 15.1
 * at most) leaves them as they are, while String.prototype.toLowerCase follows the engine's newer
 * Unicode. Unassigned to Python, they are also uncased there, so they break final-sigma context.
 */
const LOWERED_AFTER_UNICODE_15 = /([\u1C89\uA7CB\uA7CC\uA7CE\uA7D2\uA7D4\uA7DA\uA7DC]|\uD803[\uDD50-\uDD65]|\uD81B[\uDEA0-\uDEB8])/;

/** Python's `str.lower()` (full case mapping with the final-sigma rule, Unicode 15.1 at most). */
export function pythonLower(text: string): string {
  return text
    .split(LOWERED_AFTER_UNICODE_15)
    .map((part, i) => (i % 2 ? part : part.toLowerCase()))
    .join("");
}

/** A special token's text from tokenizer_config.json / special_tokens_map.json (string or AddedToken dict). */
function tokenText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value && typeof value === "object" && typeof (value as { content?: unknown }).content === "string") {
    return (value as { content: string }).content;
  }
  return undefined;
}

// biome-ignore lint/suspicious/noExplicitAny: tokenizer files are untyped JSON, checked field by field where read
function readJson(path: string): any {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ModelLayoutError(`${path} is not readable JSON: ${(error as Error).message}`);
  }
}

/**
 * Whether a model folder's tokenizer is Gemma's (SigLIP 2) rather than SigLIP's SentencePiece
 * unigram: tokenizer_config.json names a Gemma class, or, without one, tokenizer.json holds a
 * BPE model and there is no spiece.model.
 */
export function isGemmaTokenizer(dir: string): boolean {
  const configPath = join(dir, "tokenizer_config.json");
  const tokenizerClass = existsSync(configPath) ? readJson(configPath).tokenizer_class : undefined;
  if (typeof tokenizerClass === "string") return /gemma/i.test(tokenizerClass);
  const jsonPath = join(dir, "tokenizer.json");
  return !existsSync(join(dir, "spiece.model")) && existsSync(jsonPath) && readJson(jsonPath).model?.type === "BPE";
}

export class Siglip2Tokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    readonly length: number,
    readonly lowercase: boolean,
    /** `<bos>` first when the folder asks for it (SigLIP 2: never). */
    readonly bosId: number | undefined,
    /** `<eos>` last when the folder asks for it (SigLIP 2: always). */
    readonly eosId: number | undefined,
    readonly padId: number,
  ) {}

  /**
   * Loads the tokenizer of a model folder: its tokenizer.json, with the special tokens of
   * tokenizer_config.json (else special_tokens_map.json, else Gemma's defaults).
   */
  static load(dir: string, { length = 64, lowercase = true }: Siglip2TokenizerOptions = {}): Siglip2Tokenizer {
    const jsonPath = join(dir, "tokenizer.json");
    if (!existsSync(jsonPath)) {
      const what = existsSync(join(dir, "tokenizer.model")) ? "has only tokenizer.model (SentencePiece)" : "has no tokenizer";
      throw new ModelLayoutError(
        `${dir} ${what}: SigLIP 2 needs tokenizer.json, which transformers writes with GemmaTokenizerFast.from_pretrained(dir).save_pretrained(dir)`,
      );
    }
    const configPath = join(dir, "tokenizer_config.json");
    const mapPath = join(dir, "special_tokens_map.json");
    const config = existsSync(configPath) ? readJson(configPath) : {};
    const map = existsSync(mapPath) ? readJson(mapPath) : {};
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(readJson(jsonPath), config);
    } catch (error) {
      throw new ModelLayoutError(`${jsonPath} is not a usable tokenizer: ${(error as Error).message}`);
    }
    const idOf = (role: string, fallback: string) => {
      const token = tokenText(config[role]) ?? tokenText(map[role]) ?? fallback;
      const id = tokenizer.token_to_id(token);
      if (id === undefined) throw new ModelLayoutError(`${jsonPath} has no ${role.replace("_token", "")} token ${token}`);
      return id;
    };
    // GemmaTokenizerFast rebuilds its post-processor from these flags (defaults: <bos> yes, <eos> no).
    const addBos = config.add_bos_token ?? true;
    const addEos = config.add_eos_token ?? false;
    return new Siglip2Tokenizer(
      tokenizer,
      length,
      lowercase,
      addBos ? idOf("bos_token", "<bos>") : undefined,
      addEos ? idOf("eos_token", "<eos>") : undefined,
      idOf("pad_token", "<pad>"),
    );
  }

  /** The ids of the caption's pieces, before special tokens, truncation and padding. */
  pieces(text: string): number[] {
    return this.tokenizer.encode(this.lowercase ? pythonLower(text) : text, { add_special_tokens: false }).ids;
  }

  encode(text: string): TokenizedText {
    const content = this.pieces(text);
    const prefix = this.bosId === undefined ? [] : [this.bosId];
    const suffix = this.eosId === undefined ? [] : [this.eosId];
    // transformers truncates the content, keeping room for the special tokens.
    const room = Math.max(0, this.length - prefix.length - suffix.length);
    const ids = [...prefix, ...content.slice(0, room), ...suffix].slice(0, this.length);
    while (ids.length < this.length) ids.push(this.padId);
    return { ids, truncated: content.length > room };
  }
}
