"""SigLIP tokenizer folders in the shapes real repositories ship, and the Python SiglipTokenizer's ids.

Writes test/fixtures/siglip-tokenizers/<variant>/ (tokenizer files only) and
test/fixtures/goldens/siglip/tokenizer-variants.json.

Three SentencePiece models are the sources:

- `nmt_nfkc`: the tiny fixture's test/fixtures/siglip-tiny/spiece.model (siglip_tiny.py): a
  1,000-piece unigram model with SigLIP's ids (pad 0, `</s>` 1, `<unk>` 2) and SentencePiece's
  default normaliser, nmt_nfkc (precompiled charsmap, add_dummy_prefix, remove_extra_whitespaces,
  escape_whitespaces), which is the normaliser of the T5 `cc_en.32000` model SigLIP's
  spiece.model comes from.
- `identity`: a 700-piece unigram model trained here with the identity normaliser (no charsmap),
  byte fallback (256 `<0xNN>` pieces) and two user-defined symbols, so the other branches of
  SentencePiece's encoder are exercised too.
- `crafted`: a 48-piece model written by hand whose scores and piece types make an approximate
  encoder go wrong (float rounding in the Viterbi comparison, ties, unused pieces, unknown runs);
  the goldens also hold SentencePiece's own pieces for a few probe texts.

Every variant folder is expected to give, caption for caption, what
`SiglipTokenizer(vocab_file=<source spiece.model>)(text, padding="max_length", max_length=64,
truncation=True).input_ids` gives, whatever the tokenizer.json's own normaliser, pre-tokenizer,
post-processor and padding say. For each tokenizer.json the goldens also record how many captions
the file gives Python's ids for when taken at face value (HF tokenizers, its own pipeline), to
show which variants would mislead a consumer that trusts it.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import string
import tempfile
from pathlib import Path

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2
from tokenizers import Tokenizer
from transformers import SiglipTokenizer, T5Tokenizer
from transformers.convert_slow_tokenizer import SpmConverter, T5Converter

from common import FIXTURES, SEED, SHARED_REFERENCE, train_sentencepiece

OUT_DIR = FIXTURES / "siglip-tokenizers"
GOLDEN = FIXTURES / "goldens" / "siglip" / "tokenizer-variants.json"
NFKC_SPIECE = FIXTURES / "siglip-tiny" / "spiece.model"
TEXT_LENGTH = 64
SOURCE_FILES = {
    "nmt_nfkc": "test/fixtures/siglip-tiny/spiece.model",
    "identity": "test/fixtures/siglip-tokenizers/identity-spiece/spiece.model",
    "crafted": "test/fixtures/siglip-tokenizers/crafted-spiece/spiece.model",
}

# Captions chosen to reach every step of SiglipTokenizer and of SentencePiece's normaliser and
# encoder: case, ASCII punctuation (removed) and unicode punctuation (kept), Python whitespace
# (collapsed) and characters nmt_nfkc maps to spaces or removes, full-width forms, ligatures and
# compatibility characters (NFKC), combining marks (composed), emoji sequences, CJK and other
# scripts, digits, words the vocabulary lacks, literal special tokens and U+2581, empty input,
# and captions around the 64-token limit.
CAPTIONS = [
    "a photo of a cat",
    "A Photo Of A CAT.",
    "  leading and trailing spaces   ",
    "tabs\tand\ttabs\t\tand\nnew\nlines\r\nand\x0bvertical\x0cfeeds",
    "non\u00a0breaking\u00a0space, em\u2003space, ideographic\u3000space, narrow\u202fnbsp",
    "zero\u200bwidth\u200djoiner\ufeffbom\u00adsoft\u2060hyphen",
    "\ufeffleading bom and trailing zero width\u200b",
    "It's a dog's life: (really) [sic] {x} <y> @home #1 $5 %50 ^_^ ~/path\\to|file;",
    "Café crème brûlée — naïve façade «quoted» “smart quotes” …",
    "smart ‘single’ „low“ ‹angle› – en dash ‐ hyphen ― bar",
    "e\u0301 a\u0300 n\u0303 combining, o\u0308\u0304 stacked, a\u0301\u0327\u0308 many",
    "caf\u00e9 vs cafe\u0301, precomposed vs combining",
    "ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ １２３ ！？ ｆｏｒｍｓ",
    "ﬁne ﬂour ﬀ ligatures Ⅻ ① ½ x² ™ ㎏ ℃ № ℡",
    "Ⓐⓑⓒ circled, 𝐛𝐨𝐥𝐝 𝑖𝑡𝑎𝑙𝑖𝑐 mathematical letters",
    "Ångström Å Å K kelvin",
    "東京の写真 and a 🐱 cat 🚗",
    "한국어 문장 ᄒᆞᆫ 日本語ｶﾀｶﾅ ﾊﾞ 中文，标点。",
    "👩\u200d👩\u200d👧 family 🇯🇵 flag 👍🏽 thumbs ❤️ heart",
    "emoji🐱without🚗spaces",
    "ΟΔΟΣ Σίσυφος ΣΑΣ greek final sigma",
    "İstanbul ıi ß ẞ STRASSE ǅ ǈ titlecase",
    "עברית العربية русский текст Ελληνικά",
    "math ∑∫√∞ ≠ ≤ ≥ × ÷ ± arrows → ← ⇒",
    "3.14159 is pi, 2,000,000 is two million, 1/2 and 50%",
    "0123456789 ٠١٢٣ ۴۵۶ ⁰¹² digits",
    "xylophone zygote quokka axolotl",
    "photo photography photographic photos",
    "Hello,World!No-spaces_between.words",
    "great white shark, white shark, man-eater, man-eating shark, Carcharodon carcharias",
    " ".join(["a very long caption that keeps going"] * 12),
    "supercalifragilisticexpialidocious" * 4,
    "",
    "   ",
    "\t\n\u3000",
    "!!!",
    "...---...",
    "</s>",
    "a photo </s> of a cat",
    "</S> uppercase eos and <unk> unk and <pad> pad",
    "ends with eos </s>",
    "▁lower one eighth block▁ and ▁▁ runs",
    "control\x00chars\x07bell\x1bescape\x7fdel\x9fc1",
    "\x1c\x1d\x1e\x1f separators \x85 nel \u2028 line \u2029 para",
    "a " * 62 + "</s>",
    "a " * 63 + "</s>",
    "a " * 64,
]


def training_corpus() -> list[str]:
    """The same corpus siglip_tiny.py trains the nmt_nfkc model on."""
    lines = []
    for line in (SHARED_REFERENCE / "LOC_synset_mapping.txt").read_text().splitlines():
        _, names = line.split(" ", 1)
        lines.append(names.lower())
        lines.append(f"a photo of a {names.split(',')[0].lower()}")
    return lines


def train_identity_model(path: Path) -> None:
    """A unigram model with the identity normaliser, byte fallback and user-defined symbols."""
    spm.set_random_generator_seed(SEED)
    extra = ["東京の写真 and a cat", "a photo of a cat", "photo photography photos"]
    train_sentencepiece(training_corpus() + extra, path, 700, normalization_rule_name="identity", byte_fallback=True,
                        user_defined_symbols=["photo", "東京"], character_coverage=0.9995)


def write_crafted_model(path: Path) -> None:
    """A hand-made unigram model whose scores and piece types set the traps an approximate encoder
    falls into (see PROBES): float32 scores compared as a double candidate against a float best,
    ties kept by the earlier start, unused pieces skipped, user-defined symbols preferred, runs of
    unknown characters ("<", ">" and most non-letters) merged. Identity normaliser."""
    proto = sentencepiece_model_pb2.ModelProto()
    piece_type = sentencepiece_model_pb2.ModelProto.SentencePiece
    pieces = [
        ("<pad>", 0.0, piece_type.CONTROL), ("</s>", 0.0, piece_type.CONTROL), ("<unk>", 0.0, piece_type.UNKNOWN),
        ("\u2581", -1.0, piece_type.NORMAL),
        # "▁a" = -3 exactly; "▁" + "a" = -2.99999988 as a double, -3 as a float: SentencePiece
        # takes the split, since the double candidate beats the stored float.
        ("\u2581a", -3.0, piece_type.NORMAL), ("a", -(2.0 - 2.0 ** -23), piece_type.NORMAL),
        # "▁b" = -2 = "▁" + "b": the piece found first (the earlier start) is kept.
        ("\u2581b", -2.0, piece_type.NORMAL), ("b", -1.0, piece_type.NORMAL),
        # An unused piece is never chosen, and an unused single character is unknown.
        ("\u2581c", -0.1, piece_type.UNUSED), ("c", -1.0, piece_type.NORMAL), ("d", -1.0, piece_type.UNUSED),
        ("\u2581the", -4.0, piece_type.NORMAL), ("th", -2.5, piece_type.NORMAL), ("he", -2.5, piece_type.NORMAL),
        ("\u2581t", -2.0, piece_type.NORMAL),
        # A user-defined symbol wins whatever its stored score says.
        ("xyz", -100.0, piece_type.USER_DEFINED),
    ]
    pieces += [(ch, -1.5, piece_type.NORMAL) for ch in "efghijklmnopqrstuvwxyz0123456789"]
    for text, score, kind in pieces:
        piece = proto.pieces.add()
        piece.piece, piece.score, piece.type = text, score, kind
    proto.trainer_spec.model_type = sentencepiece_model_pb2.TrainerSpec.UNIGRAM
    proto.trainer_spec.vocab_size = len(pieces)
    proto.trainer_spec.unk_id, proto.trainer_spec.eos_id, proto.trainer_spec.pad_id, proto.trainer_spec.bos_id = 2, 1, 0, -1
    proto.trainer_spec.unk_piece, proto.trainer_spec.eos_piece, proto.trainer_spec.pad_piece = "<unk>", "</s>", "<pad>"
    proto.normalizer_spec.name = "identity"
    proto.normalizer_spec.add_dummy_prefix = True
    proto.normalizer_spec.remove_extra_whitespaces = True
    proto.normalizer_spec.escape_whitespaces = True
    path.write_bytes(proto.SerializeToString())


# Texts for the crafted model, encoded by SentencePiece itself (add_dummy_prefix as the model says).
PROBES = {
    "a": ["\u2581", "a"],
    "b": ["\u2581b"],
    "c": ["\u2581", "c"],
    "d": ["\u2581", "d"],
    "the": ["\u2581the"],
    "xyz": ["\u2581", "xyz"],
    "a b c d": ["\u2581", "a", "\u2581b", "\u2581", "c", "\u2581", "d"],
    "<>": ["\u2581", "<>"],
    "e<>f<d>": ["\u2581", "e", "<>", "f", "<d>"],
    "  spaced   out  ": ["\u2581", "s", "p", "a", "c", "e", "d", "\u2581", "o", "u", "t"],
}


def crafted_probes(path: Path) -> list[dict]:
    sp = spm.SentencePieceProcessor(model_file=str(path))
    rows = []
    for text, expected in PROBES.items():
        pieces = sp.encode(text, out_type=str)
        if pieces != expected:
            raise SystemExit(f"crafted model: SentencePiece gives {pieces} for {text!r}, not {expected}")
        rows.append({"text": text, "pieces": pieces, "ids": sp.encode(text)})
    return rows


def normalizer_spec(path: Path) -> dict:
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(path.read_bytes())
    spec = proto.normalizer_spec
    types = {}
    for piece in proto.pieces:
        name = sentencepiece_model_pb2.ModelProto.SentencePiece.Type.Name(piece.type)
        types[name] = types.get(name, 0) + 1
    return {
        "name": spec.name,
        "precompiled_charsmap_bytes": len(spec.precompiled_charsmap),
        "add_dummy_prefix": spec.add_dummy_prefix,
        "remove_extra_whitespaces": spec.remove_extra_whitespaces,
        "escape_whitespaces": spec.escape_whitespaces,
        "byte_fallback": proto.trainer_spec.byte_fallback,
        "pieces": len(proto.pieces),
        "piece_types": types,
    }


def python_ids(spiece: Path) -> list[dict]:
    tokenizer = SiglipTokenizer(vocab_file=str(spiece), model_max_length=TEXT_LENGTH)
    rows = []
    for text in CAPTIONS:
        encoded = tokenizer(text, padding="max_length", max_length=TEXT_LENGTH, truncation=True)["input_ids"]
        tokens = tokenizer.tokenize(text)
        rows.append({
            "input_ids": encoded,
            "tokens": tokens,
            # prepare_for_model keeps room for one `</s>` even when the pieces already end with one.
            "truncated": len(tokens) > TEXT_LENGTH - 1,
        })
    return rows


class ByteFallbackSpmConverter(SpmConverter):
    """transformers' SpmConverter keeping byte fallback, as its Llama/Gemma converters do."""

    handle_byte_fallback = True


# ---- tokenizer.json variants: the converters' output, then the shapes hand-made exports take.

PUNCTUATION = "[" + re.escape(string.punctuation) + "]"


def converted(converter, slow) -> Tokenizer:
    return converter(slow).converted()


def as_dict(tokenizer: Tokenizer) -> dict:
    return json.loads(tokenizer.to_str())


def siglip_converter_shape(base: dict, eos_id: int) -> dict:
    """The SiglipConverter proposed for transformers (PR 29969), the shape transformers.js exports
    of SigLIP carry: canonicalisation in the normaliser, `</s>` from the post-processor, fixed
    padding to 64."""
    d = json.loads(json.dumps(base))
    charsmap = next(n for n in base["normalizer"]["normalizers"] if n["type"] == "Precompiled")
    d["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Lowercase"},
        {"type": "Replace", "pattern": {"Regex": PUNCTUATION}, "content": ""},
        {"type": "Replace", "pattern": {"Regex": r"\s+"}, "content": " "},
        {"type": "Strip", "strip_left": True, "strip_right": True},
        charsmap,
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
    ]}
    d["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    d["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
        "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                 {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
        "special_tokens": {"</s>": {"id": "</s>", "ids": [eos_id], "tokens": ["</s>"]}},
    }
    d["padding"] = {"strategy": {"Fixed": TEXT_LENGTH}, "direction": "Right", "pad_to_multiple_of": None,
                    "pad_id": eos_id, "pad_type_id": 0, "pad_token": "</s>"}
    d["truncation"] = {"direction": "Right", "max_length": TEXT_LENGTH, "strategy": "LongestFirst", "stride": 0}
    return d


def lowercase_metaspace(base: dict) -> dict:
    """Lowercase then the SentencePiece normaliser; Metaspace without splitting."""
    d = json.loads(json.dumps(base))
    d["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Lowercase"},
        *base["normalizer"]["normalizers"],
    ]}
    d["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": False}
    return d


def first_metaspace_strip(base: dict) -> dict:
    """No lowercasing; Strip and whitespace Replace normalisers; Metaspace prepending only to the
    first word after a whitespace split; and a converter that dropped the byte-fallback flag."""
    d = json.loads(json.dumps(base))
    d["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Strip", "strip_left": True, "strip_right": True},
        {"type": "Replace", "pattern": {"Regex": r"\s+"}, "content": " "},
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
    ]}
    d["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "WhitespaceSplit"},
        {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True},
    ]}
    d["model"]["byte_fallback"] = False
    return d


def disagreeing(base: dict) -> dict:
    """A stale tokenizer.json beside spiece.model: NFD and accent stripping instead of the
    SentencePiece normaliser, no prefix space, splitting on punctuation."""
    d = json.loads(json.dumps(base))
    d["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "StripAccents"}]}
    d["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Punctuation", "behavior": "Isolated"},
        {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": True},
    ]}
    return d


def write_tokenizer_json(content: Tokenizer | dict, path: Path) -> Tokenizer:
    """A converter's output is saved as it is; an edited one must still load in HF tokenizers."""
    tokenizer = content if isinstance(content, Tokenizer) else Tokenizer.from_str(json.dumps(content))
    tokenizer.save(str(path), pretty=True)
    return tokenizer


def write_configs(slow: SiglipTokenizer, out: Path) -> None:
    """tokenizer_config.json and special_tokens_map.json as SiglipTokenizer.save_pretrained writes
    them (what google/siglip-* repositories ship beside spiece.model)."""
    with tempfile.TemporaryDirectory() as tmp:
        slow.save_pretrained(tmp)
        for name in ("tokenizer_config.json", "special_tokens_map.json"):
            shutil.copy(Path(tmp) / name, out / name)


def face_value_matches(tokenizer: Tokenizer, expected: list[dict], eos_id: int, pad_id: int) -> int:
    """Captions for which the tokenizer.json's own pipeline, plus `</s>` and padding to 64 where it
    does not add them itself, gives Python's ids."""
    matches = 0
    for text, row in zip(CAPTIONS, expected):
        ids = tokenizer.encode(text).ids
        if not ids or ids[-1] != eos_id:
            ids = ids[: TEXT_LENGTH - 1] + [eos_id]
        ids = ids[:TEXT_LENGTH] + [pad_id] * max(0, TEXT_LENGTH - len(ids))
        matches += ids == row["input_ids"]
    return matches


def compact_json(obj) -> str:
    """JSON with each list of numbers on one line, so the goldens stay readable."""
    text = json.dumps(obj, indent=1, ensure_ascii=False)
    return re.sub(r"\[\s+([-\d.,\s]+?)\s+\]", lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text) + "\n"


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    if OUT_DIR.exists():
        shutil.rmtree(OUT_DIR)
    OUT_DIR.mkdir(parents=True)

    with tempfile.TemporaryDirectory() as tmp:
        identity_spiece = Path(tmp) / "spiece.model"
        train_identity_model(identity_spiece)
        crafted_spiece = Path(tmp) / "crafted.model"
        write_crafted_model(crafted_spiece)
        probes = crafted_probes(crafted_spiece)
        sources = {"nmt_nfkc": NFKC_SPIECE, "identity": identity_spiece, "crafted": crafted_spiece}
        slow = {name: SiglipTokenizer(vocab_file=str(path), model_max_length=TEXT_LENGTH) for name, path in sources.items()}
        expected = {name: python_ids(path) for name, path in sources.items()}
        nfkc_json = converted(SpmConverter, slow["nmt_nfkc"])
        t5_json = converted(T5Converter, T5Tokenizer(vocab_file=str(NFKC_SPIECE), extra_ids=0, legacy=False))
        identity_json = converted(ByteFallbackSpmConverter, slow["identity"])
        eos = {name: s.convert_tokens_to_ids("</s>") for name, s in slow.items()}

        # name -> (source model, files, tokenizer.json content or None, description)
        variants = {
            "spiece-only": ("nmt_nfkc", True, None,
                            "spiece.model with tokenizer_config.json and special_tokens_map.json, no tokenizer.json (google/siglip-so400m-patch14-384's files)"),
            "spm-converter": ("nmt_nfkc", False, nfkc_json,
                              "tokenizer.json alone, from transformers' SpmConverter (transformers has no SigLIP converter): Precompiled + Strip + Replace normaliser, Metaspace prepend always, no post-processor"),
            "t5-converter": ("nmt_nfkc", False, t5_json,
                             "tokenizer.json alone, from transformers' T5Converter (T5Tokenizer, legacy=False): Metaspace prepend first, `$A </s>` post-processor"),
            "siglip-converter": ("nmt_nfkc", False, siglip_converter_shape(as_dict(nfkc_json), eos["nmt_nfkc"]),
                                 "tokenizer.json alone in the proposed SiglipConverter / transformers.js shape: Lowercase, punctuation and whitespace Replace, Strip, Precompiled in a Sequence; `$A </s>`; fixed padding to 64"),
            "spiece-beside-stale-json": ("nmt_nfkc", True, disagreeing(as_dict(nfkc_json)),
                                         "spiece.model and configs beside a tokenizer.json whose normaliser (NFD, StripAccents) and pre-tokenizer (Punctuation, Metaspace never) disagree with SentencePiece: spiece.model must win"),
            "identity-spiece": ("identity", True, None,
                                "spiece.model (identity normaliser, byte fallback, user-defined symbols) with configs"),
            "identity-converter": ("identity", False, identity_json,
                                   "tokenizer.json alone from the identity model, byte fallback kept: Strip + Replace normaliser without Precompiled"),
            "identity-lowercase-metaspace": ("identity", False, lowercase_metaspace(as_dict(identity_json)),
                                             "tokenizer.json alone: Lowercase normaliser, Metaspace prepend always with split false"),
            "identity-first-strip": ("identity", False, first_metaspace_strip(as_dict(identity_json)),
                                     "tokenizer.json alone: Strip and Replace normalisers, WhitespaceSplit + Metaspace prepend first, byte_fallback flag dropped (the 256 byte pieces remain)"),
            "crafted-spiece": ("crafted", True, None,
                               "spiece.model of a hand-made model whose scores and piece types set an approximate encoder's traps, with configs"),
        }

        records = []
        for name, (source, with_spiece, tokenizer_json, description) in variants.items():
            out = OUT_DIR / name
            out.mkdir()
            if with_spiece:
                shutil.copy(sources[source], out / "spiece.model")
                write_configs(slow[source], out)
                # The folder as a Python user loads it must give the goldens too.
                loaded = SiglipTokenizer.from_pretrained(str(out))
                for text, row in zip(CAPTIONS, expected[source]):
                    ids = loaded(text, padding="max_length", max_length=TEXT_LENGTH, truncation=True)["input_ids"]
                    if ids != row["input_ids"]:
                        raise SystemExit(f"{name}: from_pretrained differs on {text!r}")
            record = {"name": name, "source": source, "description": description}
            if tokenizer_json is not None:
                fast = write_tokenizer_json(tokenizer_json, out / "tokenizer.json")
                pad = slow[source].pad_token_id
                record["face_value_matches"] = face_value_matches(fast, expected[source], eos[source], pad)
            record["files"] = sorted(p.name for p in out.iterdir())
            records.append(record)

        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(compact_json({
            "seed": SEED,
            "text_length": TEXT_LENGTH,
            "call": 'SiglipTokenizer(vocab_file=spiece.model)(text, padding="max_length", max_length=64, truncation=True).input_ids',
            "sources": {name: {"spiece_model": SOURCE_FILES[name], "normalizer_spec": normalizer_spec(path)}
                        for name, path in sources.items()},
            "variants": records,
            "crafted_probes": probes,
            "captions": [
                {"text": text, **{source: expected[source][i] for source in sources}}
                for i, text in enumerate(CAPTIONS)
            ],
        }), encoding="utf-8")
    for record in records:
        print(f"{record['name']:30} {record['source']:9} face value {record.get('face_value_matches', '-')}/{len(CAPTIONS)}")


if __name__ == "__main__":
    main()
