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

/**
 * Lowercasing as HF tokenizers' Lowercase normaliser does it (Rust's char::to_lowercase, one code
 * point at a time): no final-sigma rule, so "ΣΑΣ" becomes "σασ". @huggingface/tokenizers lowercases
 * the whole string, which gives "σας"; lowercasing first makes its normaliser a no-op.
 */
export function charwiseLower(text: string): string {
  let out = "";
  for (const ch of text) out += LOWERED_AFTER_UNICODE_15.test(ch) ? ch : ch.toLowerCase();
  return out;
}

/**
 * Unicode's White_Space, which `\s` means in the Rust regexes of HF tokenizers. JavaScript's `\s`
 * also matches U+FEFF and misses U+0085, so a tokenizer.json regex with `\s` (CLIP's whitespace
 * collapsing and pre-tokeniser) splits differently around those two in @huggingface/tokenizers.
 */
const RUST_WHITESPACE = "\\t\\n\\v\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";

/** A regex with `\s` / `\S` spelled as Rust reads them, inside character classes and out. */
export function rustWhitespaceRegex(pattern: string): string {
  let out = "";
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\" && i + 1 < pattern.length) {
      const next = pattern[i + 1];
      i++;
      if (next === "s") out += inClass ? RUST_WHITESPACE : `[${RUST_WHITESPACE}]`;
      else if (next === "S" && !inClass) out += `[^${RUST_WHITESPACE}]`;
      else out += ch + next;
      continue;
    }
    if (ch === "[" && !inClass) inClass = true;
    else if (ch === "]" && inClass) inClass = false;
    out += ch;
  }
  return out;
}

/** tokenizer.json with every regex of its normaliser and pre-tokeniser given Rust's `\s`. */
// biome-ignore lint/suspicious/noExplicitAny: walks untyped tokenizer.json objects
function withRustWhitespace(node: any): any {
  if (Array.isArray(node)) return node.map(withRustWhitespace);
  if (!node || typeof node !== "object") return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [key, key === "Regex" && typeof value === "string" ? rustWhitespaceRegex(value) : withRustWhitespace(value)]),
  );
}

/** The GPT-2 split that a ByteLevel pre-tokeniser with use_regex applies first (HF tokenizers' byte_level.rs). */
const BYTE_LEVEL_SPLIT = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/**
 * A pre-tokeniser with its ByteLevel steps' built-in split spelled out as a Split step, so that
 * its `\s` can be given Rust's meaning too (@huggingface/tokenizers hard-codes it with JavaScript's).
 */
// biome-ignore lint/suspicious/noExplicitAny: untyped tokenizer.json
function explicitByteLevelSplit(node: any): any {
  if (!node || typeof node !== "object") return node;
  if (node.type === "Sequence" && Array.isArray(node.pretokenizers)) return { ...node, pretokenizers: node.pretokenizers.map(explicitByteLevelSplit) };
  // with add_prefix_space, ByteLevel prepends a space to every piece an earlier step made: left as it is
  if (node.type !== "ByteLevel" || node.use_regex === false || node.add_prefix_space) return node;
  return {
    type: "Sequence",
    pretokenizers: [
      { type: "Split", pattern: { Regex: BYTE_LEVEL_SPLIT }, behavior: "Isolated", invert: false },
      { ...node, use_regex: false },
    ],
  };
}

/**
 * A tokenizer.json for @huggingface/tokenizers that splits as transformers' Rust tokenizers do:
 * `\s` in its regexes (and in ByteLevel's built-in split) means Unicode's White_Space.
 */
// biome-ignore lint/suspicious/noExplicitAny: untyped tokenizer.json
export function asRustReadsIt(json: any): any {
  return { ...json, normalizer: withRustWhitespace(json.normalizer), pre_tokenizer: withRustWhitespace(explicitByteLevelSplit(json.pre_tokenizer)) };
}

/** Whether a tokenizer.json normaliser lowercases (a Lowercase step, alone or in a Sequence). */
// biome-ignore lint/suspicious/noExplicitAny: untyped tokenizer.json
function lowercasesItself(normalizer: any): boolean {
  if (!normalizer || typeof normalizer !== "object") return false;
  if (normalizer.type === "Lowercase") return true;
  return Array.isArray(normalizer.normalizers) && normalizer.normalizers.some(lowercasesItself);
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

/** transformers pads on the right unless tokenizer_config.json says "left". */
function paddingSide(value: unknown, path: string): boolean {
  if (value === undefined || value === null || value === "right") return false;
  if (value === "left") return true;
  throw new ModelLayoutError(`${path} gives padding_side ${JSON.stringify(value)}; transformers takes "right" or "left"`);
}

export class PaddedTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    readonly length: number,
    /** Captions are lowercased (Python's str.lower()) before the tokenizer sees them (SigLIP 2). */
    readonly lowercase: boolean,
    /** The tokenizer.json lowercases: done here first, as its Rust implementation does (charwiseLower). */
    private readonly charwise: boolean,
    readonly bosId: number | undefined,
    readonly eosId: number | undefined,
    readonly padId: number,
    /** tokenizer_config.json's padding_side: "left" puts the padding before the caption. */
    readonly padLeft: boolean,
  ) {}

  /**
   * Loads a model folder's tokenizer.json with the special tokens of tokenizer_config.json (else
   * special_tokens_map.json, else the family's defaults); `missing` is the sentence for a folder
   * without tokenizer.json.
   */
  static load(
    dir: string,
    options: {
      length: number;
      defaults: SpecialTokenDefaults;
      lowercase?: boolean;
      missing: (dir: string) => string;
    },
  ): PaddedTokenizer {
    const jsonPath = join(dir, "tokenizer.json");
    if (!existsSync(jsonPath)) throw new ModelLayoutError(options.missing(dir));
    const configPath = join(dir, "tokenizer_config.json");
    const mapPath = join(dir, "special_tokens_map.json");
    const config = existsSync(configPath) ? readTokenizerJson(configPath) : {};
    const map = existsSync(mapPath) ? readTokenizerJson(mapPath) : {};
    const json = readTokenizerJson(jsonPath);
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(asRustReadsIt(json), config);
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
      lowercasesItself(json.normalizer),
      addBos ? idOf("bos") : undefined,
      addEos ? idOf("eos") : undefined,
      idOf("pad"),
      paddingSide(config.padding_side, configPath),
    );
  }

  /** The ids of the caption's pieces, before special tokens, truncation and padding. */
  pieces(text: string): number[] {
    const prepared = this.lowercase ? pythonLower(text) : this.charwise ? charwiseLower(text) : text;
    return this.tokenizer.encode(prepared, { add_special_tokens: false }).ids;
  }

  encode(text: string): TokenizedText {
    const content = this.pieces(text);
    const prefix = this.bosId === undefined ? [] : [this.bosId];
    const suffix = this.eosId === undefined ? [] : [this.eosId];
    // transformers truncates the content, keeping room for the special tokens.
    const room = Math.max(0, this.length - prefix.length - suffix.length);
    const ids = [...prefix, ...content.slice(0, room), ...suffix].slice(0, this.length);
    const padding = new Array<number>(this.length - ids.length).fill(this.padId);
    return { ids: this.padLeft ? [...padding, ...ids] : [...ids, ...padding], truncated: content.length > room };
  }
}
