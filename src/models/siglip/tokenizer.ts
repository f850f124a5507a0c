/**
 * SigLIP text tokenisation, exactly as the Python SiglipTokenizer does it with
 * `padding="max_length"`: lowercased (literal special tokens aside), ASCII punctuation removed,
 * whitespace runs collapsed, SentencePiece pieces, `</s>` appended unless the pieces already end
 * with it, truncated and padded with the pad id to the fixed length. Padding to the longest
 * caption instead silently ruins accuracy (ImageNet zero-shot top-1 0.82 -> 0.51), so the length
 * is never negotiable.
 *
 * The SentencePiece model is the folder's `spiece.model` when it has one (what SiglipTokenizer
 * itself loads), else the Unigram model in its `tokenizer.json`. Either way the pieces are
 * SentencePiece's (sentencepiece.ts): a tokenizer.json's own normaliser, pre-tokenizer,
 * post-processor and padding differ between converters and are not used.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ModelLayoutError } from "../common/layout.js";
import { parseModelProto, SentencePieceProcessor, specFromTokenizerJson } from "../common/sentencepiece.js";

/** Python's string.punctuation. */
const ASCII_PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
/** The characters Python's `re` matches with \s in a str pattern (str.isspace). */
const PYTHON_WHITESPACE_CLASS = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const PYTHON_WHITESPACE = new RegExp(`[${PYTHON_WHITESPACE_CLASS}]+`, "g");
const PYTHON_LEADING_WHITESPACE = new RegExp(`^[${PYTHON_WHITESPACE_CLASS}]+`);
const PYTHON_TRAILING_WHITESPACE = new RegExp(`[${PYTHON_WHITESPACE_CLASS}]+$`);
/** SentencePiece's whitespace symbol, U+2581. */
const SPIECE_UNDERLINE = "\u2581";

export interface TokenizedText {
  ids: number[];
  /** The caption had more pieces than fit and lost its tail. */
  truncated: boolean;
}

/** An added token as transformers keeps it: the text is split around it, and neighbours stripped. */
interface AddedToken {
  content: string;
  id: number;
  lstrip: boolean;
  rstrip: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: tokenizer files are untyped JSON, checked field by field where read
function readJsonIfPresent(path: string): any {
  return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : undefined;
}

/** A special token's text from tokenizer_config.json / special_tokens_map.json (string or AddedToken dict). */
function tokenText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value && typeof value === "object" && typeof (value as { content?: unknown }).content === "string") {
    return (value as { content: string }).content;
  }
  return undefined;
}

export class SiglipTokenizer {
  private readonly unkPrefixLength: number;
  private readonly splitter?: RegExp;
  private readonly lowercaseSkip?: RegExp;

  private constructor(
    private readonly spm: SentencePieceProcessor,
    readonly length: number,
    readonly eosId: number,
    readonly padId: number,
    private readonly unkToken: string,
    private readonly added: Map<string, AddedToken>,
    private readonly specialTokens: Set<string>,
    readonly lowercase: boolean,
    /** Which file the pieces come from, for messages. */
    readonly source: string,
  ) {
    // SiglipTokenizer encodes `<unk>` + text and drops the pieces `<unk>` alone gives.
    this.unkPrefixLength = spm.encodeAsPieces(unkToken, false).length;
    const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    // transformers' Trie.split: the earliest match, the longest there.
    const byLength = [...added.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
    if (byLength.length) this.splitter = new RegExp(`(${byLength.join("|")})`);
    const special = [...specialTokens].map(escapeRegExp);
    if (special.length) this.lowercaseSkip = new RegExp(`(${special.join("|")})`, "g");
  }

  /**
   * Loads the tokenizer of a model folder: `spiece.model` if present, else `tokenizer.json`, with
   * the special tokens of `tokenizer_config.json` (or `special_tokens_map.json`, or
   * SiglipTokenizer's defaults). `length` is the model's text length (64).
   */
  static load(dir: string, length = 64): SiglipTokenizer {
    const spiecePath = join(dir, "spiece.model");
    const jsonPath = join(dir, "tokenizer.json");
    let spm: SentencePieceProcessor;
    let source: string;
    if (existsSync(spiecePath)) {
      source = "spiece.model";
      try {
        spm = new SentencePieceProcessor(parseModelProto(new Uint8Array(readFileSync(spiecePath))));
      } catch (error) {
        throw new ModelLayoutError(`${spiecePath} is not a usable SentencePiece model: ${(error as Error).message}`);
      }
    } else if (existsSync(jsonPath)) {
      source = "tokenizer.json";
      try {
        spm = new SentencePieceProcessor(specFromTokenizerJson(JSON.parse(readFileSync(jsonPath, "utf8")), jsonPath));
      } catch (error) {
        throw new ModelLayoutError(`${jsonPath} is not a usable SigLIP tokenizer: ${(error as Error).message}`);
      }
    } else {
      throw new ModelLayoutError(`${dir} has no SigLIP tokenizer: looked for spiece.model (SentencePiece) and tokenizer.json`);
    }
    const config = readJsonIfPresent(join(dir, "tokenizer_config.json")) ?? {};
    const map = readJsonIfPresent(join(dir, "special_tokens_map.json")) ?? {};
    const pick = (name: string, fallback: string) => tokenText(config[name]) ?? tokenText(map[name]) ?? fallback;
    const eos = pick("eos_token", "</s>");
    const unk = pick("unk_token", "<unk>");
    const pad = pick("pad_token", "</s>");
    const extra: string[] = (config.additional_special_tokens ?? map.additional_special_tokens ?? [])
      .map(tokenText)
      .filter((t: string | undefined): t is string => !!t);

    // SiglipTokenizer makes eos, unk and pad AddedTokens stripping both neighbours; a saved
    // tokenizer_config.json lists them (and any others) in added_tokens_decoder.
    const added = new Map<string, AddedToken>();
    const idOf = (token: string) => spm.pieceToId(token);
    // biome-ignore lint/suspicious/noExplicitAny: tokenizer files are untyped JSON, checked field by field where read
    const decoder: Record<string, any> | undefined = config.added_tokens_decoder;
    if (decoder && Object.keys(decoder).length) {
      for (const [id, t] of Object.entries(decoder)) {
        if (typeof t?.content !== "string") continue;
        added.set(t.content, { content: t.content, id: Number(id), lstrip: !!t.lstrip, rstrip: !!t.rstrip });
      }
    }
    for (const token of [eos, unk, pad, ...extra]) {
      if (!added.has(token)) added.set(token, { content: token, id: idOf(token), lstrip: true, rstrip: true });
    }
    const idOfSpecial = (token: string, role: string) => {
      const id = added.get(token)?.id ?? idOf(token);
      if (id === spm.unkId && token !== unk) throw new ModelLayoutError(`the ${source} in ${dir} has no ${role} token ${token}`);
      return id;
    };
    return new SiglipTokenizer(
      spm,
      length,
      idOfSpecial(eos, "end-of-sequence"),
      idOfSpecial(pad, "padding"),
      unk,
      added,
      new Set([eos, unk, pad, ...extra]),
      config.do_lower_case ?? true,
      source,
    );
  }

  /** SiglipTokenizer.canonicalize_text: ASCII punctuation removed, whitespace runs collapsed, stripped. */
  static canonicalizeText(text: string): string {
    return text.replace(ASCII_PUNCTUATION, "").replace(PYTHON_WHITESPACE, " ").replace(PYTHON_LEADING_WHITESPACE, "").replace(PYTHON_TRAILING_WHITESPACE, "");
  }

  /** The canonical form of a caption before SentencePiece: lowercased and canonicalize_text. */
  static canonicalize(text: string): string {
    return SiglipTokenizer.canonicalizeText(lowerEachChar(text));
  }

  /** The pieces SiglipTokenizer.tokenize gives (before `</s>`, truncation and padding). */
  tokenize(text: string): string[] {
    // SiglipTokenizer.tokenize: a leading U+2581, and U+2581 in the text read as a space.
    let t = SPIECE_UNDERLINE + text.replaceAll(SPIECE_UNDERLINE, " ");
    // PreTrainedTokenizer.tokenize lowercases character by character (so no final-sigma rule),
    // leaving literal special tokens as they are.
    if (this.lowercase) {
      t = this.lowercaseSkip
        ? t
            .split(this.lowercaseSkip)
            .map((part, i) => (i % 2 ? part : lowerEachChar(part)))
            .join("")
        : lowerEachChar(t);
    }
    // Split around added tokens, stripping whitespace next to those that ask for it.
    const chunks = this.splitter ? t.split(this.splitter) : [t];
    for (let i = 1; i < chunks.length; i += 2) {
      const token = this.added.get(chunks[i])!;
      if (token.rstrip && chunks[i + 1]) chunks[i + 1] = chunks[i + 1].replace(PYTHON_LEADING_WHITESPACE, "");
      if (token.lstrip && chunks[i - 1]) chunks[i - 1] = chunks[i - 1].replace(PYTHON_TRAILING_WHITESPACE, "");
    }
    const pieces: string[] = [];
    chunks.forEach((chunk, i) => {
      if (!chunk) return;
      if (i % 2) pieces.push(chunk);
      else for (const piece of this.tokenizeChunk(chunk)) pieces.push(piece); // a spread of a long text's pieces overflows the stack
    });
    if (pieces.length > 1 && pieces[0] === SPIECE_UNDERLINE && this.specialTokens.has(pieces[1])) pieces.shift();
    return pieces;
  }

  /** SiglipTokenizer._tokenize: canonicalised, encoded after `<unk>` (so no dummy prefix), `<unk>`'s pieces dropped. */
  private tokenizeChunk(chunk: string): string[] {
    const text = SiglipTokenizer.canonicalizeText(chunk);
    const pieces = this.spm.encodeAsPieces(this.unkToken + text, false);
    return pieces.length >= this.unkPrefixLength ? pieces.slice(this.unkPrefixLength) : pieces;
  }

  /** A piece's id as convert_tokens_to_ids gives it: added tokens first, then the SentencePiece model. */
  private pieceId(piece: string): number {
    return this.added.get(piece)?.id ?? this.spm.pieceToId(piece);
  }

  encode(text: string): TokenizedText {
    const pieces = this.tokenize(text).map((p) => this.pieceId(p));
    // prepare_for_model keeps room for one `</s>`, which is not added again after one.
    const room = this.length - 1;
    const ids = pieces.slice(0, room);
    if (ids.length === 0 || ids[ids.length - 1] !== this.eosId) ids.push(this.eosId);
    while (ids.length < this.length) ids.push(this.padId);
    return { ids, truncated: pieces.length > room };
  }
}

/** Python's `c.lower()` applied to each character on its own. */
function lowerEachChar(text: string): string {
  let out = "";
  for (const c of text) out += c.toLowerCase();
  return out;
}
