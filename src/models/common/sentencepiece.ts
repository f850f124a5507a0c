/**
 * SentencePiece unigram encoding with the C++ library's exact semantics (sentencepiece 0.2): the
 * model read from its protobuf (`spiece.model`) or rebuilt from a converted `tokenizer.json`, the
 * normaliser (precompiled charsmap, user-defined symbols, whitespace handling) and the optimised
 * Viterbi, pieces returned as Python's `encode(text, out_type=str)` returns them.
 *
 * Written here rather than delegated because no JavaScript library reproduces it exactly:
 * @huggingface/tokenizers approximates the precompiled charsmap with String.normalize("NFKC") and
 * scores its lattice in doubles with its own unknown-token rules, while the ids depend on what
 * SentencePiece does: float32 scores compared as a double candidate against a float best,
 * longest-rule charsmap lookup over UTF-8 bytes, merged runs of unknown characters, byte
 * fallback. The protobuf reader is a few lines of wire format, so no protobuf library is needed.
 */

/** ModelProto.SentencePiece.Type. */
export enum PieceType {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
}

export interface SentencePieceSpec {
  pieces: { piece: string; score: number; type: PieceType }[];
  /** TrainerSpec.model_type: 1 unigram, 2 BPE, 3 word, 4 char. */
  modelType: number;
  byteFallback: boolean;
  treatWhitespaceAsSuffix: boolean;
  normalizer: {
    name: string;
    /** Empty: no rules (the identity normaliser). */
    charsmap: Uint8Array;
    addDummyPrefix: boolean;
    removeExtraWhitespaces: boolean;
    escapeWhitespaces: boolean;
  };
}

// ---- protobuf wire format: only what sentencepiece_model.proto needs

class WireReader {
  constructor(
    private readonly buf: Uint8Array,
    private pos = 0,
    private readonly end = buf.length,
  ) {}

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new Error("truncated protobuf varint");
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
    }
  }

  int32(): number {
    return Number(BigInt.asIntN(32, this.varint()));
  }

  bool(): boolean {
    return this.varint() !== 0n;
  }

  bytes(): Uint8Array {
    const length = Number(this.varint());
    if (this.pos + length > this.end) throw new Error("truncated protobuf field");
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  string(): string {
    return utf8.decode(this.bytes());
  }

  message(): WireReader {
    const body = this.bytes();
    return new WireReader(body);
  }

  float(): number {
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4);
    this.pos += 4;
    return view.getFloat32(0, true);
  }

  /** Calls `field` for each field; it reads the value and returns true, or returns false to skip it. */
  forEach(field: (num: number, wire: number) => boolean): void {
    while (this.pos < this.end) {
      const key = Number(this.varint());
      const num = key >>> 3;
      const wire = key & 7;
      if (!field(num, wire)) this.skip(wire);
    }
  }

  private skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
}

/** Keeps a leading U+FEFF: a piece may be one. */
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Reads a SentencePiece ModelProto: the bytes of `spiece.model`. */
export function parseModelProto(buf: Uint8Array): SentencePieceSpec {
  const spec: SentencePieceSpec = {
    pieces: [],
    modelType: 1,
    byteFallback: false,
    treatWhitespaceAsSuffix: false,
    normalizer: { name: "", charsmap: new Uint8Array(0), addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true },
  };
  const top = new WireReader(buf);
  top.forEach((num, wire) => {
    if (wire !== 2) return false;
    if (num === 1) {
      const piece = { piece: "", score: 0, type: PieceType.Normal };
      const r = top.message();
      r.forEach((n, w) => {
        if (n === 1 && w === 2) piece.piece = r.string();
        else if (n === 2 && w === 5) piece.score = r.float();
        else if (n === 3 && w === 0) piece.type = r.int32();
        else return false;
        return true;
      });
      spec.pieces.push(piece);
    } else if (num === 2) {
      const r = top.message();
      r.forEach((n, w) => {
        if (w !== 0) return false;
        if (n === 3) spec.modelType = r.int32();
        else if (n === 35) spec.byteFallback = r.bool();
        else if (n === 24) spec.treatWhitespaceAsSuffix = r.bool();
        else return false;
        return true;
      });
    } else if (num === 3) {
      const r = top.message();
      const norm = spec.normalizer;
      r.forEach((n, w) => {
        if (n === 1 && w === 2) norm.name = r.string();
        else if (n === 2 && w === 2) norm.charsmap = r.bytes();
        else if (n === 3 && w === 0) norm.addDummyPrefix = r.bool();
        else if (n === 4 && w === 0) norm.removeExtraWhitespaces = r.bool();
        else if (n === 5 && w === 0) norm.escapeWhitespaces = r.bool();
        else return false;
        return true;
      });
    } else {
      return false;
    }
    return true;
  });
  if (spec.pieces.length === 0) throw new Error("no pieces: not a SentencePiece model");
  return spec;
}

const BYTE_PIECE = /^<0x([0-9A-F]{2})>$/;

/**
 * The SentencePiece model a converted `tokenizer.json` carries: a Unigram model's pieces and
 * scores, its unknown id and byte fallback, and the precompiled charsmap of a `Precompiled`
 * normaliser wherever it sits in the normaliser sequence. Everything else in the file (other
 * normalisers, pre-tokenizer, post-processor, padding) is the converter's imitation of
 * SentencePiece or of a tokenizer's extras and is not read. What the conversion loses is
 * rebuilt: added tokens that are special were control pieces and the others user-defined
 * symbols; 256 `<0xNN>` pieces mean byte fallback (SentencePiece refuses them without it), even
 * where a converter dropped the flag. Without a `Precompiled` normaliser the model normalises
 * nothing, as a SentencePiece model without a charsmap does.
 */
// biome-ignore lint/suspicious/noExplicitAny: tokenizer files are untyped JSON, checked field by field where read
export function specFromTokenizerJson(json: any, where: string): SentencePieceSpec {
  const model = json?.model;
  if (model?.type !== "Unigram" || !Array.isArray(model.vocab)) {
    throw new Error(`${where} has no Unigram model (found ${model?.type ?? "none"}); SigLIP's tokenizer is a SentencePiece unigram model`);
  }
  const vocab: [string, number][] = model.vocab;
  const special = new Map<string, boolean>();
  for (const t of json.added_tokens ?? []) {
    if (typeof t?.content === "string" && vocab[t.id]?.[0] === t.content) special.set(t.content, t.special !== false);
  }
  const bytePieces = vocab.filter(([p]) => BYTE_PIECE.test(p)).length;
  const byteFallback = model.byte_fallback === true || bytePieces === 256;
  const pieces = vocab.map(([piece, score], id) => {
    let type = PieceType.Normal;
    if (id === model.unk_id) type = PieceType.Unknown;
    else if (byteFallback && BYTE_PIECE.test(piece)) type = PieceType.Byte;
    else if (special.has(piece)) type = special.get(piece) ? PieceType.Control : PieceType.UserDefined;
    return { piece, score: Math.fround(score), type };
  });
  const charsmap = findPrecompiled(json.normalizer);
  return {
    pieces,
    modelType: 1,
    byteFallback,
    treatWhitespaceAsSuffix: false,
    normalizer: {
      name: charsmap ? "precompiled" : "identity",
      charsmap: charsmap ? new Uint8Array(Buffer.from(charsmap, "base64")) : new Uint8Array(0),
      addDummyPrefix: true,
      removeExtraWhitespaces: true,
      escapeWhitespaces: true,
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: tokenizer files are untyped JSON, checked field by field where read
function findPrecompiled(normalizer: any): string | undefined {
  if (!normalizer) return undefined;
  if (normalizer.type === "Precompiled") return normalizer.precompiled_charsmap || undefined;
  if (normalizer.type === "Sequence") {
    for (const n of normalizer.normalizers ?? []) {
      const found = findPrecompiled(n);
      if (found) return found;
    }
  }
  return undefined;
}

// ---- tries

/**
 * darts-clone's double array as SentencePiece stores it in a precompiled charsmap: 32-bit units
 * with a label, an offset and a leaf flag; a leaf's unit holds the value.
 */
class DoubleArray {
  constructor(private readonly units: Uint32Array) {}

  /** Lengths and values of every key that is a prefix of bytes[start..end), shortest first. */
  commonPrefixSearch(bytes: Uint8Array, start: number, end: number): { length: number; value: number }[] {
    const units = this.units;
    const results: { length: number; value: number }[] = [];
    let id = offset(units[0]);
    for (let i = start; i < end; i++) {
      const c = bytes[i];
      id ^= c;
      const unit = units[id];
      if (unit === undefined || label(unit) !== c) break;
      id ^= offset(unit);
      if (hasLeaf(unit)) results.push({ length: i - start + 1, value: units[id] & 0x7fffffff });
    }
    return results;
  }
}

const hasLeaf = (unit: number) => ((unit >>> 8) & 1) === 1;
const label = (unit: number) => (unit & 0x800000ff) >>> 0;
const offset = (unit: number) => ((unit >>> 10) << ((unit & 0x200) >>> 6)) >>> 0;

/** A byte trie over pieces; `id` is -1 on nodes that end no piece. */
class ByteTrie {
  private readonly children: Map<number, number>[] = [new Map()];
  private readonly ids: number[] = [-1];

  insert(bytes: Uint8Array, id: number): void {
    let node = 0;
    for (const b of bytes) {
      let next = this.children[node].get(b);
      if (next === undefined) {
        next = this.children.length;
        this.children.push(new Map());
        this.ids.push(-1);
        this.children[node].set(b, next);
      }
      node = next;
    }
    this.ids[node] = id;
  }

  /** Calls `found(length, id)` for each piece that is a prefix of bytes[start..end), shortest first. */
  prefixes(bytes: Uint8Array, start: number, end: number, found: (length: number, id: number) => void): void {
    let node = 0;
    for (let i = start; i < end; i++) {
      const next = this.children[node].get(bytes[i]);
      if (next === undefined) return;
      node = next;
      if (this.ids[node] >= 0) found(i - start + 1, this.ids[node]);
    }
  }

  get empty(): boolean {
    return this.children[0].size === 0;
  }
}

/** string_util::OneCharLen: the UTF-8 length a lead byte announces. */
const oneCharLen = (b: number) => [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4][b >> 4];

/** string_util::IsValidDecodeUTF8 for one character: its length, or 0 when malformed. */
function validCharLen(bytes: Uint8Array, pos: number, end: number): number {
  const b0 = bytes[pos];
  if (b0 < 0x80) return 1;
  const cont = (i: number) => pos + i < end && (bytes[pos + i] & 0xc0) === 0x80;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const cp = ((b0 & 0x0f) << 12) | ((bytes[pos + 1] & 0x3f) << 6) | (bytes[pos + 2] & 0x3f);
    return cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const cp = ((b0 & 0x07) << 18) | ((bytes[pos + 1] & 0x3f) << 12) | ((bytes[pos + 2] & 0x3f) << 6) | (bytes[pos + 3] & 0x3f);
    return cp >= 0x10000 && cp <= 0x10ffff ? 4 : 0;
  }
  return 0;
}

const SPACE_SYMBOL = utf8Encoder.encode("\u2581");
const REPLACEMENT_CHAR = utf8Encoder.encode("\ufffd");
const SPACE = 0x20;
/** unigram_model.cc's kUnkPenalty. */
const UNK_PENALTY = 10;

/** A SentencePiece unigram model, ready to encode. */
export class SentencePieceProcessor {
  private readonly trie = new ByteTrie();
  private readonly userDefined = new ByteTrie();
  private readonly charsmap?: { trie: DoubleArray; normalized: Uint8Array };
  private readonly normalIds = new Map<string, number>();
  private readonly reservedIds = new Map<string, number>();
  private readonly scores: Float32Array;
  private readonly types: PieceType[];
  readonly unkId: number;
  private readonly minScore: number;
  private readonly maxScore: number;

  constructor(readonly spec: SentencePieceSpec) {
    if (spec.modelType !== 1) {
      throw new Error(`SentencePiece model type ${spec.modelType} is not supported: SigLIP's tokenizer is a unigram model (type 1)`);
    }
    this.scores = Float32Array.from(spec.pieces, (p) => p.score);
    this.types = spec.pieces.map((p) => p.type);
    let unkId = -1;
    // ModelInterface::InitializePieces and unigram Model's constructor.
    let minScore = 3.4028234663852886e38; // FLT_MAX
    let maxScore = 1.1754943508222875e-38; // FLT_MIN
    spec.pieces.forEach(({ piece, type }, id) => {
      const normal = type === PieceType.Normal || type === PieceType.UserDefined || type === PieceType.Unused;
      const ids = normal ? this.normalIds : this.reservedIds;
      if (!ids.has(piece)) ids.set(piece, id);
      if (normal) this.trie.insert(utf8Encoder.encode(piece), id);
      if (type === PieceType.UserDefined) this.userDefined.insert(utf8Encoder.encode(piece), id);
      if (type === PieceType.Unknown && unkId < 0) unkId = id;
      if (type === PieceType.Normal) {
        minScore = Math.min(minScore, this.scores[id]);
        maxScore = Math.max(maxScore, this.scores[id]);
      }
    });
    if (unkId < 0) throw new Error("the SentencePiece model defines no unknown piece");
    this.unkId = unkId;
    this.minScore = minScore;
    this.maxScore = maxScore;
    const blob = spec.normalizer.charsmap;
    if (blob.length > 0) {
      // <trie size: uint32 LE><double array units><NUL-separated replacement strings>
      const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
      const trieSize = view.getUint32(0, true);
      if (trieSize >= blob.length || trieSize % 4 !== 0) throw new Error("the precompiled charsmap is broken");
      const units = new Uint32Array(trieSize / 4);
      for (let i = 0; i < units.length; i++) units[i] = view.getUint32(4 + 4 * i, true);
      this.charsmap = { trie: new DoubleArray(units), normalized: blob.subarray(4 + trieSize) };
    }
  }

  /** ModelInterface::PieceToId: control, unknown and byte pieces first, then the others, else unknown. */
  pieceToId(piece: string): number {
    return this.reservedIds.get(piece) ?? this.normalIds.get(piece) ?? this.unkId;
  }

  /** Normalizer::NormalizePrefix: the replacement for the longest rule at `pos` and the bytes it consumes. */
  private normalizePrefix(input: Uint8Array, pos: number): [Uint8Array, number] {
    let userLength = 0;
    this.userDefined.prefixes(input, pos, input.length, (length) => (userLength = Math.max(userLength, length)));
    if (userLength > 0) return [input.subarray(pos, pos + userLength), userLength];
    let longest = 0;
    let value = 0;
    if (this.charsmap) {
      for (const r of this.charsmap.trie.commonPrefixSearch(input, pos, input.length)) {
        if (longest === 0 || r.length > longest) {
          longest = r.length;
          value = r.value;
        }
      }
    }
    if (longest === 0) {
      const length = validCharLen(input, pos, input.length);
      // A malformed byte becomes U+FFFD and consumes one byte.
      return length === 0 ? [REPLACEMENT_CHAR, 1] : [input.subarray(pos, pos + length), length];
    }
    const normalized = this.charsmap!.normalized;
    let stop = normalized.indexOf(0, value);
    if (stop < 0) stop = normalized.length;
    return [normalized.subarray(value, stop), longest];
  }

  /** Normalizer::Normalize, with `addDummyPrefix` overriding the model's setting when given. */
  normalize(input: Uint8Array, addDummyPrefix = this.spec.normalizer.addDummyPrefix): Uint8Array {
    const { removeExtraWhitespaces, escapeWhitespaces } = this.spec.normalizer;
    const suffix = this.spec.treatWhitespaceAsSuffix;
    const out: number[] = [];
    let pos = 0;
    if (removeExtraWhitespaces) {
      while (pos < input.length) {
        const [sp, consumed] = this.normalizePrefix(input, pos);
        if (!(sp.length === 1 && sp[0] === SPACE)) break;
        pos += consumed;
      }
    }
    if (pos >= input.length) return new Uint8Array(0);
    const addWs = () => (escapeWhitespaces ? out.push(...SPACE_SYMBOL) : out.push(SPACE));
    if (!suffix && addDummyPrefix) addWs();
    let isPrevSpace = removeExtraWhitespaces;
    while (pos < input.length) {
      const [sp, consumed] = this.normalizePrefix(input, pos);
      let s = 0;
      while (isPrevSpace && s < sp.length && sp[s] === SPACE) s++;
      if (s < sp.length) {
        for (let n = s; n < sp.length; n++) {
          if (escapeWhitespaces && sp[n] === SPACE) out.push(...SPACE_SYMBOL);
          else out.push(sp[n]);
        }
        isPrevSpace = sp[sp.length - 1] === SPACE;
      }
      pos += consumed;
      if (!removeExtraWhitespaces) isPrevSpace = false;
    }
    if (removeExtraWhitespaces) {
      const space = escapeWhitespaces ? SPACE_SYMBOL : [SPACE];
      const endsWithSpace = () => out.length >= space.length && space.every((b, i) => out[out.length - space.length + i] === b);
      while (endsWithSpace()) out.length -= space.length;
    }
    if (suffix && addDummyPrefix) addWs();
    return Uint8Array.from(out);
  }

  /**
   * unigram Model::EncodeOptimized: the best segmentation of normalised bytes into [start, end,
   * id] triples. Scores are float32 as in the C++ code, where a piece's candidate score is a
   * double compared against the float best (the conditional mixes `length * max_score - 0.1`,
   * a double, with the float score), and an unknown character's is a float.
   */
  private viterbi(text: Uint8Array): [number, number, number][] {
    const size = text.length;
    const bestScore = new Float32Array(size + 1);
    const startsAt = new Int32Array(size + 1).fill(-1);
    const bestId = new Int32Array(size + 1).fill(-1);
    const unkScore = Math.fround(this.minScore - UNK_PENALTY);
    let start = 0;
    while (start < size) {
      const tillHere = bestScore[start];
      const mblen = Math.min(oneCharLen(text[start]), size - start);
      let hasSingleNode = false;
      this.trie.prefixes(text, start, size, (length, id) => {
        const type = this.types[id];
        if (type === PieceType.Unused) return;
        const end = start + length;
        const score = type === PieceType.UserDefined ? Math.fround(length * this.maxScore) - 0.1 : this.scores[id];
        const candidate = score + tillHere;
        if (startsAt[end] === -1 || candidate > bestScore[end]) {
          bestScore[end] = candidate;
          startsAt[end] = start;
          bestId[end] = id;
        }
        if (length === mblen) hasSingleNode = true;
      });
      if (!hasSingleNode) {
        const end = start + mblen;
        const candidate = Math.fround(unkScore + tillHere);
        if (startsAt[end] === -1 || candidate > bestScore[end]) {
          bestScore[end] = candidate;
          startsAt[end] = start;
          bestId[end] = this.unkId;
        }
      }
      start += mblen;
    }
    const result: [number, number, number][] = [];
    for (let end = size; end > 0; end = startsAt[end]) result.push([startsAt[end], end, bestId[end]]);
    return result.reverse();
  }

  /**
   * SentencePieceProcessor::Encode as pieces (Python's `encode(text, out_type=str)`): runs of
   * unknown characters merged into one piece, or, with byte fallback, spelled as `<0xNN>` pieces.
   */
  encodeAsPieces(text: string, addDummyPrefix?: boolean): string[] {
    const normalized = this.normalize(utf8Encoder.encode(text), addDummyPrefix);
    const pieces: string[] = [];
    let prevUnknown = false;
    let pending: Uint8Array | undefined;
    const flush = () => {
      if (pending) pieces.push(utf8.decode(pending));
      pending = undefined;
    };
    for (const [start, end, id] of this.viterbi(normalized)) {
      const bytes = normalized.subarray(start, end);
      const unknown = id === this.unkId;
      if (unknown && this.spec.byteFallback) {
        flush();
        for (const b of bytes) pieces.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
      } else if (unknown && prevUnknown && pending) {
        const merged = new Uint8Array(pending.length + bytes.length);
        merged.set(pending);
        merged.set(bytes, pending.length);
        pending = merged;
      } else {
        flush();
        pending = bytes;
      }
      prevUnknown = unknown;
    }
    flush();
    return pieces;
  }
}
