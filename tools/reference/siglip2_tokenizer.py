"""A tiny SigLIP 2 (Gemma) tokenizer folder and transformers' ids for fuzzed captions.

Writes test/fixtures/siglip2-tokenizer/ (tokenizer.json, tokenizer_config.json,
special_tokens_map.json, tokenizer.model) and test/fixtures/goldens/siglip2/tokenizer.json.

The SentencePiece model is BPE with byte fallback and Gemma's ids (pad 0, eos 1, bos 2, unk 3)
and normaliser (identity, no dummy prefix, whitespace kept as it is, digits split), trained here
on a small varied corpus so that most non-ASCII characters fall back to bytes. The folder is
made the way google/siglip2-* repositories were: transformers' convert_siglip2_to_hf.py loads
GemmaTokenizerFast with add_bos_token=False, add_eos_token=True, padding_side="right", so a
caption ends with `<eos>` and is padded with `<pad>` (0).

Goldens: for each caption, `tokenizer(text.lower(), padding="max_length", max_length=64,
truncation=True).input_ids` (the model card's call) and the same without lowercasing, from the
folder loaded back with GemmaTokenizerFast.from_pretrained; also Python's str.lower() of every
code point it changes, since JavaScript's toLowerCase() may follow a newer Unicode.

Needs transformers, tokenizers, sentencepiece and protobuf (no torch).
"""
from __future__ import annotations

import json
import random
import re
import shutil
import sys
import tempfile
import unicodedata
from pathlib import Path

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2
from transformers import GemmaTokenizer, GemmaTokenizerFast

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "test" / "fixtures"
OUT_DIR = FIXTURES / "siglip2-tokenizer"
GOLDEN = FIXTURES / "goldens" / "siglip2" / "tokenizer.json"
SEED = 20261122
TEXT_LENGTH = 64
VOCAB_SIZE = 600
FLAGLESS_CAPTIONS = 60

WORDS = ("a photo of the cat dog bird car tree house mountain river street city people man woman child "
         "red blue green yellow black white small large old new running sitting standing on in with and "
         "near under over picture image painting drawing sketch close-up view night day sunset beach").split()
FOREIGN = ["café", "crème brûlée", "naïve", "façade", "straße", "ÆØÅ æøå", "東京の写真", "北京", "猫と犬",
           "한국어", "русский текст", "ελληνικά", "עברית", "العربية", "हिन्दी", "ไทย", "tiếng việt"]
EMOJI = ["🐱", "🐶", "🚗", "❤️", "👍🏽", "👩\u200d👩\u200d👧", "🇯🇵", "🏳️\u200d🌈", "😀", "🎉", "1️⃣", "🧑🏿\u200d🚀"]
# Characters where Python's str.lower() and a per-character or older/newer-Unicode lowering differ.
CASE_TRAPS = ["İ", "I", "Σ", "ς", "ẞ", "ß", "ǅ", "ǈ", "ǋ", "ǲ", "ϴ", "K", "Ω", "Å", "Ⅻ", "Ⓐ", "Ꭰ", "ꭰ", "ᏸ",
              "𐐀", "𞤀", "ᾈ", "ᾼ", "ῼ", "Ꞵ", "Ꟑ", "\ua7cb", "\ua7cc", "\ua7da", "\ua7dc", "\U00010d50", "\U00016e40",
              "ΌΣΟΣ", "ΣΑΣ.", "Σ", "AΣ", "AΣ'", "A\u0301Σ", "AΣ\u0301B", "ΣΑΣ\u200d", "İi", "IJ", "Ĳ"]
WHITESPACE = [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u200b", "\u200d", "\ufeff", "\u2028", "\x0b", "\u202f", "    "]
SPECIALS = ["<eos>", "<bos>", "<pad>", "<unk>", "<EOS>", "<Bos>", "</s>", "<mask>", "▁", "<0x41>", "<eos><eos>"]
DIGITS = ["0", "7", "42", "2026", "3.14159", "1,000,000", "٣", "²", "½", "１２３"]


def training_corpus(rng: random.Random) -> list[str]:
    lines = []
    for _ in range(3000):
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 12))]
        if rng.random() < 0.3:
            words[0] = words[0].capitalize()
        if rng.random() < 0.2:
            words.append(rng.choice(DIGITS[:6]))
        if rng.random() < 0.1:
            words.append(rng.choice(FOREIGN[:6]))
        if rng.random() < 0.05:
            words.append(rng.choice(EMOJI[:4]))
        lines.append(" ".join(words))
    return lines


def train_model(path: Path, rng: random.Random) -> None:
    """Gemma's trainer settings, small: BPE, byte fallback, identity normaliser, no dummy prefix."""
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text("\n".join(training_corpus(rng)), encoding="utf-8")
        spm.SentencePieceTrainer.train(
            input=str(corpus), model_prefix=str(Path(tmp) / "tokenizer"), vocab_size=VOCAB_SIZE, model_type="bpe",
            pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>",
            unk_piece="<unk>", byte_fallback=True, character_coverage=0.9995, normalization_rule_name="identity",
            add_dummy_prefix=False, remove_extra_whitespaces=False, split_digits=True, allow_whitespace_only_pieces=True,
            num_threads=1, minloglevel=2)
        proto = sentencepiece_model_pb2.ModelProto()
        proto.ParseFromString((Path(tmp) / "tokenizer.model").read_bytes())
        # The trainer records its temporary paths; dropped so regeneration is byte-identical.
        del proto.trainer_spec.input[:]
        proto.trainer_spec.model_prefix = "tokenizer"
        path.write_bytes(proto.SerializeToString())


def fuzzed_captions(rng: random.Random) -> list[str]:
    fixed = [
        "", " ", "a photo of a cat", "A Photo Of A CAT", "  leading and trailing  ", "tabs\tand\nnew\r\nlines",
        "nbsp\u00a0zero\u200bwidth\u200djoiner\ufeffbom", "Café Crème Brûlée NAÏVE", "東京の写真 and a 🐱 cat 🚗",
        "👩\u200d👩\u200d👧 family 🇯🇵 flag 👍🏽", "3.14159 and 1,000,000 and 2026", "İstanbul ΟΔΟΣ ΣΑΣ ẞ ǅ",
        "<eos>", "a <eos> b", "<EOS> upper", "<bos><pad><unk>", "▁ lower one eighth block ▁▁",
        "control\x00chars\x07\x1b\x7f", " ".join(["a very long caption that keeps going"] * 12),
        "a " * 62, "a " * 63, "a " * 64, "a" * 63, "supercalifragilisticexpialidocious" * 6,
        "🐱" * 40, "東" * 70,
    ]
    pools = [WORDS, FOREIGN, EMOJI, CASE_TRAPS, WHITESPACE, SPECIALS, DIGITS]
    weights = [10, 3, 2, 2, 3, 1, 2]
    out = list(fixed)
    for i in range(420):
        parts = []
        for _ in range(rng.choice([1, 2, 3, 5, 8, 13, 30, 60])):
            pool = rng.choices(pools, weights)[0]
            token = rng.choice(pool)
            if pool is WORDS:
                token = rng.choice([token, token.capitalize(), token.upper()])
            parts.append(token)
            parts.append(rng.choice([" ", " ", " ", "", "  ", "\t", "\n", "\u00a0"]))
        text = "".join(parts)
        if i % 7 == 0:
            text = text.strip()
        out.append(text)
    # Random code points (unassigned and surrogates skipped), to catch lowering differences.
    for _ in range(40):
        chars = []
        while len(chars) < rng.randint(1, 20):
            c = chr(rng.choice([rng.randint(0x20, 0x2FF), rng.randint(0x370, 0x52F), rng.randint(0x1E00, 0x1FFF),
                                rng.randint(0x2C00, 0x2DFF), rng.randint(0xA640, 0xA7FF), rng.randint(0x10000, 0x1FFFF)]))
            if unicodedata.category(c) not in ("Cn", "Cs"):
                chars.append(c)
        out.append("".join(chars))
    return out


def python_lower_table() -> dict[str, str]:
    """str.lower() of every code point it changes, with Python's Unicode version."""
    table = {}
    for cp in range(sys.maxunicode + 1):
        c = chr(cp)
        if 0xD800 <= cp <= 0xDFFF:
            continue
        lowered = c.lower()
        if lowered != c:
            table[f"{cp:04X}"] = lowered
    return table


def compact_json(obj) -> str:
    """JSON with each list of numbers on one line, so the goldens stay readable."""
    text = json.dumps(obj, indent=1, ensure_ascii=False)
    return re.sub(r"\[\s+([-\d,\s]+?)\s+\]", lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text) + "\n"


def main() -> None:
    rng = random.Random(SEED)
    if OUT_DIR.exists():
        shutil.rmtree(OUT_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        train_model(Path(tmp) / "tokenizer.model", rng)
        # As convert_siglip2_to_hf.py configures Gemma's tokenizer for SigLIP 2.
        options = dict(add_bos_token=False, add_eos_token=True, padding_side="right", model_input_names=["input_ids"])
        slow = GemmaTokenizer(vocab_file=str(Path(tmp) / "tokenizer.model"), **options)
        fast = GemmaTokenizerFast.from_pretrained(tmp, from_slow=True, **options)
        slow.save_pretrained(OUT_DIR)
        fast.save_pretrained(OUT_DIR)
    for extra in ("added_tokens.json",):
        (OUT_DIR / extra).unlink(missing_ok=True)

    tokenizer = GemmaTokenizerFast.from_pretrained(OUT_DIR)
    assert tokenizer.pad_token_id == 0 and tokenizer.eos_token_id == 1 and tokenizer.bos_token_id == 2
    captions = fuzzed_captions(rng)
    rows = []
    for text in captions:
        row = {"text": text}
        for name, value in (("lowercased", text.lower()), ("as_is", text)):
            ids = tokenizer(value, padding="max_length", max_length=TEXT_LENGTH, truncation=True)["input_ids"]
            content = tokenizer(value, add_special_tokens=False)["input_ids"]
            assert len(ids) == TEXT_LENGTH and ids[len(content[:TEXT_LENGTH - 1])] == tokenizer.eos_token_id
            row[name] = {"input_ids": ids, "truncated": len(content) > TEXT_LENGTH - 1}
        rows.append(row)
    # Without add_bos_token/add_eos_token in tokenizer_config.json, GemmaTokenizerFast ignores
    # tokenizer.json's post-processor and adds <bos> only: a folder missing them must not pass for SigLIP 2's.
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(OUT_DIR, tmp, dirs_exist_ok=True)
        config = json.loads((Path(tmp) / "tokenizer_config.json").read_text())
        del config["add_bos_token"], config["add_eos_token"]
        (Path(tmp) / "tokenizer_config.json").write_text(json.dumps(config))
        flagless = GemmaTokenizerFast.from_pretrained(tmp)
        for row in rows[:FLAGLESS_CAPTIONS]:
            value = row["text"].lower()
            ids = flagless(value, padding="max_length", max_length=TEXT_LENGTH, truncation=True)["input_ids"]
            content = flagless(value, add_special_tokens=False)["input_ids"]
            row["lowercased_without_flags"] = {"input_ids": ids, "truncated": len(content) > TEXT_LENGTH - 1}
    # A folder whose tokenizer_config.json says padding_side "left" is padded before the caption.
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(OUT_DIR, tmp, dirs_exist_ok=True)
        config = json.loads((Path(tmp) / "tokenizer_config.json").read_text())
        config["padding_side"] = "left"
        (Path(tmp) / "tokenizer_config.json").write_text(json.dumps(config))
        left = GemmaTokenizerFast.from_pretrained(tmp)
        for row in rows[:FLAGLESS_CAPTIONS]:
            ids = left(row["text"].lower(), padding="max_length", max_length=TEXT_LENGTH, truncation=True)["input_ids"]
            row["lowercased_padding_left"] = {"input_ids": ids}
    truncated = sum(r["lowercased"]["truncated"] for r in rows)
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(compact_json({
        "seed": SEED,
        "text_length": TEXT_LENGTH,
        "call": 'GemmaTokenizerFast.from_pretrained(folder)(text.lower() or text, padding="max_length", max_length=64, truncation=True).input_ids',
        "python_unicode": unicodedata.unidata_version,
        "special_ids": {"pad": tokenizer.pad_token_id, "eos": tokenizer.eos_token_id, "bos": tokenizer.bos_token_id,
                        "unk": tokenizer.unk_token_id},
        "python_lower": python_lower_table(),
        "captions": rows,
    }), encoding="utf-8")
    print(f"{len(rows)} captions, {truncated} truncated; files: {sorted(p.name for p in OUT_DIR.iterdir())}")


if __name__ == "__main__":
    main()
