/**
 * Fixed-length caption tokenisation from a repository's tokenizer.json, as transformers' fast
 * tokenizers do it with `padding="max_length", max_length=N, truncation=True`: the pieces from
 * @huggingface/tokenizers (its normaliser and pre-tokeniser included), the content truncated to
 * leave room for the special tokens, `bos`/`eos` where the model adds them, then the pad id up to
 * N. SigLIP 2 (Gemma) and CLIP use it; SigLIP's SentencePiece unigram has its own (siglip/tokenizer.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { ModelLayoutError } from "./layout.js";

export interface TokenizedText {
  /** Exactly `length` ids, padded with the pad id. */
  ids: number[];
  /** The caption had more pieces than fit and lost its tail. */
  truncated: boolean;
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

/** What a family adds around the pieces, where the folder does not say. */
export interface SpecialTokenDefaults {
  addBos: boolean;
  addEos: boolean;
  bos: string;
  eos: string;
  pad: string;
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
export function readTokenizerJson(path: string): any {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ModelLayoutError(`${path} is not readable JSON: ${(error as Error).message}`);
  }
}

export class PaddedTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    readonly length: number,
    /** Captions are lowercased (Python's str.lower()) before the tokenizer sees them (SigLIP 2). */
    readonly lowercase: boolean,
    readonly bosId: number | undefined,
    readonly eosId: number | undefined,
    readonly padId: number,
  ) {}

  /**
   * Loads a model folder's tokenizer.json with the special tokens of tokenizer_config.json (else
   * special_tokens_map.json, else the family's defaults); `missing` is the sentence for a folder
   * without tokenizer.json.
   */
  static load(
    dir: string,
    options: { length: number; defaults: SpecialTokenDefaults; lowercase?: boolean; missing: (dir: string) => string },
  ): PaddedTokenizer {
    const jsonPath = join(dir, "tokenizer.json");
    if (!existsSync(jsonPath)) throw new ModelLayoutError(options.missing(dir));
    const configPath = join(dir, "tokenizer_config.json");
    const mapPath = join(dir, "special_tokens_map.json");
    const config = existsSync(configPath) ? readTokenizerJson(configPath) : {};
    const map = existsSync(mapPath) ? readTokenizerJson(mapPath) : {};
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(readTokenizerJson(jsonPath), config);
    } catch (error) {
      throw new ModelLayoutError(`${jsonPath} is not a usable tokenizer: ${(error as Error).message}`);
    }
    const idOf = (role: "bos" | "eos" | "pad") => {
      const key = `${role}_token`;
      const token = tokenText(config[key]) ?? tokenText(map[key]) ?? options.defaults[role];
      const id = tokenizer.token_to_id(token);
      if (id === undefined) throw new ModelLayoutError(`${jsonPath} has no ${role} token ${token}`);
      return id;
    };
    // transformers' fast tokenizers rebuild their post-processor from these flags where the class has them
    const addBos = config.add_bos_token ?? options.defaults.addBos;
    const addEos = config.add_eos_token ?? options.defaults.addEos;
    return new PaddedTokenizer(
      tokenizer,
      options.length,
      options.lowercase ?? false,
      addBos ? idOf("bos") : undefined,
      addEos ? idOf("eos") : undefined,
      idOf("pad"),
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
