"""Tiny random-weight CLIP in the transformers.js hub layout, and the real CLIP tokenizer; goldens.

Writes:
- test/fixtures/clip-tiny/: a tiny `CLIPModel` (image 224, patch 32, hidden 32, 2 layers,
  projection 16) with config.json, preprocessor_config.json (CLIPImageProcessor() defaults), a
  1,000-token byte-level BPE tokenizer in CLIP's shape (byte alphabet, the same with `</w>`,
  merges, then `<|startoftext|>` and `<|endoftext|>` as the last two ids) trained here, and the
  layout Xenova/clip-vit-* repositories use: onnx/vision_model.onnx
  (CLIPVisionModelWithProjection), onnx/text_model.onnx (CLIPTextModelWithProjection),
  onnx/model.onnx (CLIPModel).
- test/fixtures/clip-tokenizer/: the real CLIP tokenizer (49,408 ids) built from the BPE merges
  file OpenAI published, which the open_clip_torch wheel carries (downloaded with pip, no deps).
- test/fixtures/goldens/clip/: goldens.json, image_embeds.npy, text_embeds.npy,
  logits_per_image.npy for the tiny model; tokenizer.json for the real tokenizer.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from transformers import (
    CLIPConfig,
    CLIPImageProcessor,
    CLIPModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    CLIPTokenizerFast,
    CLIPVisionModelWithProjection,
)

from common import (
    FIXTURES,
    IMAGES_DIR,
    SEED,
    SHARED_REFERENCE,
    image_manifest,
    max_abs_diff,
    ort_session,
    save_npy,
    seed_everything,
)
from onnx_export import export

MODEL_DIR = FIXTURES / "clip-tiny"
REAL_TOKENIZER_DIR = FIXTURES / "clip-tokenizer"
GOLDEN_DIR = FIXTURES / "goldens" / "clip"
TEXT_LENGTH = 77
VOCAB_SIZE = 1000
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
# The real merges: open_clip_torch's wheel ships OpenAI's bpe_simple_vocab_16e6.txt.gz.
OPEN_CLIP_VERSION = "3.3.0"
BPE_GZ_SHA256 = "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a"
REAL_VOCAB_SIZE = 49408

TINY_CONFIG = dict(
    text_config=dict(
        vocab_size=VOCAB_SIZE,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=TEXT_LENGTH,
        projection_dim=16,
    ),
    vision_config=dict(
        image_size=224,
        patch_size=32,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        projection_dim=16,
    ),
    projection_dim=16,
)

# Captions with case, accents, digits, emoji, contractions, over 77 tokens, empty.
CAPTIONS = [
    "a photo of a cat",
    "A Photo Of A TENCH.",
    "  Hello,   World!!  ",
    "It's a dog's life: (really) [sic] {x} <y> @home #1 $5 %50 ^_^ ~/path\\to|file;",
    "Café crème brûlée — naïve façade «quoted» “smart quotes” …",
    "東京の写真 and a 🐱 cat 🚗",
    "tabs\tand\nnewlines\r\nmixed",
    "3.14159 is pi, 2,000,000 is two million",
    "great white shark, white shark, man-eater, man-eating shark, Carcharodon carcharias",
    "they're here, don't go, we've won, I'll see, you'd know, I'm in",
    " ".join(["a very long caption that keeps going"] * 12),
    "",
    "!!!",
]


def reference_decode(path: Path) -> Image.Image:
    """How a Python user loads an image: PIL, EXIF orientation applied, converted to RGB."""
    return ImageOps.exif_transpose(Image.open(path)).convert("RGB")


def bytes_to_unicode() -> dict[int, str]:
    """CLIP's (and GPT-2's) byte alphabet: printable bytes stand for themselves, the others are
    moved to code points from 256 up, in byte order; printable ones first."""
    kept = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    table = {b: chr(b) for b in kept}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table  # in this order: the printable bytes, then the moved ones (the vocabulary's order)


def clip_vocab(merges: list[tuple[str, str]]) -> dict[str, int]:
    """The vocabulary CLIP's tokenizer defines: the byte alphabet, the same with `</w>`, one token
    per merge in merge order, then `<|startoftext|>` and `<|endoftext|>`."""
    alphabet = list(bytes_to_unicode().values())
    tokens = alphabet + [c + "</w>" for c in alphabet] + ["".join(m) for m in merges] + [BOS, EOS]
    vocab = {t: i for i, t in enumerate(tokens)}
    assert len(vocab) == len(tokens), "duplicate tokens"
    return vocab


def write_vocab_merges(folder: Path, merges: list[tuple[str, str]]) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    vocab_file, merges_file = folder / "vocab.json", folder / "merges.txt"
    vocab_file.write_text(json.dumps(clip_vocab(merges), ensure_ascii=False), encoding="utf-8")
    merges_file.write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")
    return vocab_file, merges_file


# ---------------------------------------------------------------------------------------------
# The tiny tokenizer: BPE merges learnt here on the ImageNet class names and the captions.

def training_corpus() -> list[str]:
    lines = []
    for line in (SHARED_REFERENCE / "LOC_synset_mapping.txt").read_text().splitlines():
        _, names = line.split(" ", 1)
        lines.append(names)
        lines.append(f"a photo of a {names.split(',')[0]}")
    lines += [c for c in CAPTIONS if c]
    return lines


def clip_pretokenizer():
    """CLIP's text pipeline up to the BPE model, from HF tokenizers: NFC, whitespace runs to one
    space, lowercase; CLIP's split pattern, then the byte-level mapping (as CLIPTokenizerFast has it)."""
    from tokenizers import Regex, normalizers, pre_tokenizers

    normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
    pattern = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
    pre = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False),
    ])
    return normalizer, pre


def learn_merges(lines: list[str], count: int) -> list[tuple[str, str]]:
    """Plain BPE training with CLIP's end-of-word marker: each word starts as its byte symbols with
    `</w>` on the last; the most frequent adjacent pair is merged, ties broken by the pair's text,
    so the result does not depend on hash order (HF tokenizers' trainer breaks ties by ids it
    assigns in hash-map order)."""
    normalizer, pre = clip_pretokenizer()
    words = Counter()
    for line in lines:
        for word, _ in pre.pre_tokenize_str(normalizer.normalize_str(line)):
            words[word] += 1
    symbols = {w: list(w[:-1]) + [w[-1] + "</w>"] for w in words}
    merges = []
    for _ in range(count):
        pairs = Counter()
        for w, n in words.items():
            s = symbols[w]
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] += n
        if not pairs:
            break
        top = max(pairs.values())
        best = min(pair for pair, n in pairs.items() if n == top)
        merges.append(best)
        joined = best[0] + best[1]
        for w in words:
            s = symbols[w]
            i, out = 0, []
            while i < len(s):
                if i + 1 < len(s) and s[i] == best[0] and s[i + 1] == best[1]:
                    out.append(joined)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            symbols[w] = out
    assert len(merges) == count, f"only {len(merges)} merges learnt"
    return merges


def build_tiny_tokenizer() -> CLIPTokenizerFast:
    merges = learn_merges(training_corpus(), VOCAB_SIZE - 512 - 2)
    with tempfile.TemporaryDirectory() as tmp:
        vocab_file, merges_file = write_vocab_merges(Path(tmp), merges)
        fast = CLIPTokenizerFast(vocab_file=str(vocab_file), merges_file=str(merges_file), model_max_length=TEXT_LENGTH)
        slow = CLIPTokenizer(vocab_file=str(vocab_file), merges_file=str(merges_file), model_max_length=TEXT_LENGTH)
        # Without ftfy the slow tokenizer splits CJK ideographs into words of their own (BERT's
        # BasicTokenizer); CLIP's own pattern and the fast tokenizer keep a run of letters together.
        for caption in CAPTIONS:
            a, b = fast(caption)["input_ids"], slow(caption)["input_ids"]
            cjk = any(0x3040 <= ord(c) <= 0x9FFF for c in caption)
            assert a == b or cjk, f"slow and fast CLIP tokenizers differ on {caption!r}: {a} {b}"
            if a != b:
                print(f"  slow CLIPTokenizer (no ftfy) splits the CJK in {caption!r} differently")
        fast.save_pretrained(MODEL_DIR)
    fast = CLIPTokenizerFast.from_pretrained(MODEL_DIR)
    assert len(fast) == VOCAB_SIZE and fast.convert_tokens_to_ids([BOS, EOS]) == [VOCAB_SIZE - 2, VOCAB_SIZE - 1]
    return fast


# ---------------------------------------------------------------------------------------------
# The tiny model and its ONNX graphs.

class VisionTower(torch.nn.Module):
    def __init__(self, model: CLIPVisionModelWithProjection):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        out = self.model(pixel_values=pixel_values)
        return out.image_embeds, out.last_hidden_state


class TextTower(torch.nn.Module):
    def __init__(self, model: CLIPTextModelWithProjection):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask)
        return out.text_embeds, out.last_hidden_state


class Combined(torch.nn.Module):
    def __init__(self, model: CLIPModel):
        super().__init__()
        self.model = model

    def forward(self, input_ids, pixel_values, attention_mask):
        out = self.model(input_ids=input_ids, pixel_values=pixel_values, attention_mask=attention_mask)
        return out.logits_per_image, out.logits_per_text, out.text_embeds, out.image_embeds


def towers(model: CLIPModel) -> tuple[CLIPVisionModelWithProjection, CLIPTextModelWithProjection]:
    """The with-projection models, holding the CLIPModel's own weights."""
    state = model.state_dict()
    vision = CLIPVisionModelWithProjection._from_config(model.config.vision_config, attn_implementation="eager").eval()
    text = CLIPTextModelWithProjection._from_config(model.config.text_config, attn_implementation="eager").eval()
    for tower, prefixes in ((vision, ("vision_model.", "visual_projection.")), (text, ("text_model.", "text_projection."))):
        wanted = {k: v for k, v in state.items() if k.startswith(prefixes)}
        tower.load_state_dict(wanted, strict=True)
    return vision, text


def export_model(model: CLIPModel, vision: torch.nn.Module, text: torch.nn.Module, pixels, ids, mask) -> None:
    onnx_dir = MODEL_DIR / "onnx"
    export(VisionTower(vision), (pixels,), onnx_dir / "vision_model.onnx",
           ["pixel_values"], ["image_embeds", "last_hidden_state"],
           {"pixel_values": {0: "batch_size"}, "image_embeds": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"}})
    export(TextTower(text), (ids, mask), onnx_dir / "text_model.onnx",
           ["input_ids", "attention_mask"], ["text_embeds", "last_hidden_state"],
           {"input_ids": {0: "batch_size", 1: "sequence_length"}, "attention_mask": {0: "batch_size", 1: "sequence_length"},
            "text_embeds": {0: "batch_size"}, "last_hidden_state": {0: "batch_size", 1: "sequence_length"}})
    export(Combined(model), (ids, pixels, mask), onnx_dir / "model.onnx",
           ["input_ids", "pixel_values", "attention_mask"],
           ["logits_per_image", "logits_per_text", "text_embeds", "image_embeds"],
           {"input_ids": {0: "text_batch_size", 1: "sequence_length"},
            "pixel_values": {0: "image_batch_size"},
            "attention_mask": {0: "text_batch_size", 1: "sequence_length"},
            "logits_per_image": {0: "image_batch_size", 1: "text_batch_size"},
            "logits_per_text": {0: "text_batch_size", 1: "image_batch_size"},
            "text_embeds": {0: "text_batch_size"},
            "image_embeds": {0: "image_batch_size"}})


def check_export(model, vision, text, pixel_values, ids, mask, tokenizer) -> dict:
    onnx_dir = MODEL_DIR / "onnx"
    with torch.no_grad():
        v_ref = vision(pixel_values=pixel_values)
        t_ref = text(input_ids=ids, attention_mask=mask)
        c_ref = model(input_ids=ids, pixel_values=pixel_values, attention_mask=mask)
    v = ort_session(onnx_dir / "vision_model.onnx").run(None, {"pixel_values": pixel_values.numpy()})
    text_session = ort_session(onnx_dir / "text_model.onnx")
    t = text_session.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})
    c = ort_session(onnx_dir / "model.onnx").run(None, {"input_ids": ids.numpy(), "pixel_values": pixel_values.numpy(),
                                                        "attention_mask": mask.numpy()})
    # Another sequence length than the export's: the captions padded to their longest only.
    short = tokenizer(CAPTIONS[:6], padding="longest", return_tensors="pt")
    with torch.no_grad():
        s_ref = text(input_ids=short["input_ids"], attention_mask=short["attention_mask"])
    s = text_session.run(None, {"input_ids": short["input_ids"].numpy(), "attention_mask": short["attention_mask"].numpy()})
    checks = {
        "vision_model.image_embeds": max_abs_diff(v[0], v_ref.image_embeds),
        "vision_model.last_hidden_state": max_abs_diff(v[1], v_ref.last_hidden_state),
        "text_model.text_embeds": max_abs_diff(t[0], t_ref.text_embeds),
        "text_model.last_hidden_state": max_abs_diff(t[1], t_ref.last_hidden_state),
        f"text_model.text_embeds (length {short['input_ids'].shape[1]})": max_abs_diff(s[0], s_ref.text_embeds),
        "model.logits_per_image": max_abs_diff(c[0], c_ref.logits_per_image),
        "model.logits_per_text": max_abs_diff(c[1], c_ref.logits_per_text),
        "model.text_embeds": max_abs_diff(c[2], c_ref.text_embeds),
        "model.image_embeds": max_abs_diff(c[3], c_ref.image_embeds),
    }
    for name, diff in checks.items():
        print(f"  {name}: max abs diff {diff:.3g}")
        if not diff < 1e-4:
            raise SystemExit(f"ONNX export differs from PyTorch: {name} max abs diff {diff}")
    return checks


def write_compact_json(path: Path, obj) -> None:
    """JSON with each list of numbers on one line, so the goldens stay readable."""
    text = json.dumps(obj, indent=1, ensure_ascii=False)
    text = re.sub(r"\[\s+([-\d,\s]+?)\s+\]", lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")


def sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array, dtype=np.float32).tobytes()).hexdigest()


def build_tiny() -> None:
    seed_everything()
    if MODEL_DIR.exists():
        shutil.rmtree(MODEL_DIR)
    MODEL_DIR.mkdir(parents=True)
    tokenizer = build_tiny_tokenizer()
    bos_id, eos_id = tokenizer.convert_tokens_to_ids([BOS, EOS])
    text_config = dict(TINY_CONFIG["text_config"], bos_token_id=bos_id, eos_token_id=eos_id, pad_token_id=eos_id)
    config = CLIPConfig(text_config=text_config, vision_config=TINY_CONFIG["vision_config"],
                        projection_dim=TINY_CONFIG["projection_dim"])
    model = CLIPModel._from_config(config, attn_implementation="eager").eval()
    model.config.save_pretrained(MODEL_DIR)
    processor = CLIPImageProcessor()
    processor.save_pretrained(MODEL_DIR)
    vision, text = towers(model)

    captions = []
    for caption in CAPTIONS:
        encoded = tokenizer(caption, padding="max_length", max_length=TEXT_LENGTH, truncation=True)
        captions.append({"text": caption, "input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"],
                         "truncated": len(tokenizer(caption)["input_ids"]) > TEXT_LENGTH})
    ids = torch.tensor([c["input_ids"] for c in captions], dtype=torch.long)
    mask = torch.tensor([c["attention_mask"] for c in captions], dtype=torch.long)

    images = image_manifest()
    pixel_values = []
    for entry in images:
        decoded = reference_decode(IMAGES_DIR / entry["file"])
        # channels_last stated: HF guesses channels-first for a 1x1 image and fails.
        pv = processor(images=decoded, return_tensors="pt", input_data_format="channels_last")["pixel_values"]
        entry["decoded_size"] = list(decoded.size)
        entry["pixel_values_sha256"] = sha256(pv[0].numpy())
        pixel_values.append(pv)
    pixel_values = torch.cat(pixel_values)

    export_model(model, vision, text, pixel_values[:2], ids[:2], mask[:2])
    checks = check_export(model, vision, text, pixel_values, ids, mask, tokenizer)

    with torch.no_grad():
        image_embeds = model.get_image_features(pixel_values=pixel_values)
        text_embeds = model.get_text_features(input_ids=ids, attention_mask=mask)
        logits = model(input_ids=ids, pixel_values=pixel_values, attention_mask=mask).logits_per_image
    save_npy(GOLDEN_DIR / "image_embeds.npy", image_embeds.numpy())
    save_npy(GOLDEN_DIR / "text_embeds.npy", text_embeds.numpy())
    save_npy(GOLDEN_DIR / "logits_per_image.npy", logits.numpy())
    write_compact_json(GOLDEN_DIR / "goldens.json", {
        "seed": SEED,
        "model_dir": "test/fixtures/clip-tiny",
        "text_length": TEXT_LENGTH,
        "special_ids": {"bos": bos_id, "eos": eos_id, "pad": tokenizer.pad_token_id},
        "logit_scale": float(model.logit_scale.exp().item()),
        "images": [{"index": i, "file": e["file"], "decoded_size": e["decoded_size"],
                    "pixel_values_sha256": e["pixel_values_sha256"]} for i, e in enumerate(images)],
        "captions": captions,
        "onnx_vs_torch_max_abs_diff": checks,
        "arrays": {
            "image_embeds.npy": "get_image_features (visual projection of the pooled CLS, not normalised), one row per image",
            "text_embeds.npy": "get_text_features (text projection at the first <|endoftext|>, not normalised), one row per caption",
            "logits_per_image.npy": "CLIPModel logits_per_image, images x captions",
        },
    })
    print("clip-tiny: written")


# ---------------------------------------------------------------------------------------------
# The real CLIP tokenizer.

def real_bpe_merges() -> list[tuple[str, str]]:
    """OpenAI's merges: lines 2 .. 49152-256-2+1 of bpe_simple_vocab_16e6.txt.gz, from the
    open_clip_torch wheel (EMB_CLIP_BPE may name the .gz instead of downloading the wheel)."""
    with tempfile.TemporaryDirectory() as tmp:
        source = os.environ.get("EMB_CLIP_BPE")
        if not source:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                            "-d", tmp, f"open_clip_torch=={OPEN_CLIP_VERSION}"], check=True)
            wheel = next(Path(tmp).glob("open_clip_torch-*.whl"))
            with zipfile.ZipFile(wheel) as z:
                data = z.read("open_clip/bpe_simple_vocab_16e6.txt.gz")
        else:
            data = Path(source).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert digest == BPE_GZ_SHA256, f"unexpected bpe_simple_vocab_16e6.txt.gz ({digest})"
    lines = gzip.decompress(data).decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1:49152 - 256 - 2 + 1]]
    assert all(len(m) == 2 for m in merges)
    return merges


def clip_fuzzed_captions() -> list[str]:
    """siglip2_tokenizer.py's fuzzed captions plus what CLIP's split pattern treats specially."""
    from siglip2_tokenizer import fuzzed_captions

    extra = [
        "a photo of a cat", "A PHOTO OF A CAT", "it's", "IT'S", "don't", "they're", "we've", "I'm", "you'll", "he'd",
        "it’s curly", "rock'n'roll", "'s's't're", "o'clock", "'twas", "dogs' toys", "the cat's dog's bone",
        "https://example.com/path?q=a+b&x=1#frag", "www.example.org/a_b-c.html", "mail me@example.com",
        "e\u0301te\u0301 cafe\u0301 (combining acute)", "Å Å Å", "ﬁne ﬂour ﬃ", "ｆｕｌｌ ｗｉｄｔｈ", "x\u00a0y\u2009z\u3000w",
        "tab\there\nnew\r\nline  double  space", "👨\u200d👩\u200d👧\u200d👦 family", "🏳️\u200d⚧️ ✊🏾 🫶", "東京タワー 北京 서울",
        "12345678901234567890", "1st 2nd 3rd 4th 2026-12-06 10:45", "3.14 0.5 .5 5. 1e10", "<|startoftext|>",
        "<|endoftext|> in the middle <|endoftext|>", "<|ENDOFTEXT|>", "</w>", "a</w>b",
        " ".join(["word"] * 80), " ".join(["photograph of"] * 40), "x" * 300, "🐱" * 100, "",
        "   ", "\t\n", "!!!???...", "--- *** ___", "Ελληνικά Русский עברית العربية हिन्दी ไทย",
        "Zoë Saldaña, Björk, Søren Kierkegaard, Đorđe, Łódź", "ǅemal ΣΊΣΥΦΟΣ İSTANBUL straße STRASSE",
        # where Rust's regexes and lowercasing differ from JavaScript's: U+0085 and U+FEFF in `\s`,
        # the final-sigma rule, other separators
        "next\u0085line\u0085\u0085end", "bom\ufeff!? \ufeff🐱 a\ufeffb", "mongolian\u180eseparator", "zero\u200bwidth",
        "ΟΔΟΣ. ΣΑΣ, Σ Σ. AΣ'", "\ufeff", "\u0085",
    ]
    return extra + fuzzed_captions(random.Random(SEED))


def build_real_tokenizer() -> None:
    merges = real_bpe_merges()
    if REAL_TOKENIZER_DIR.exists():
        shutil.rmtree(REAL_TOKENIZER_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        vocab_file, merges_file = write_vocab_merges(Path(tmp), merges)
        assert len(json.loads(vocab_file.read_text())) == REAL_VOCAB_SIZE
        fast = CLIPTokenizerFast(vocab_file=str(vocab_file), merges_file=str(merges_file), model_max_length=TEXT_LENGTH)
        fast.save_pretrained(REAL_TOKENIZER_DIR)
    # tokenizer.json alone must load: vocab.json and merges.txt are not committed.
    for name in ("vocab.json", "merges.txt", "added_tokens.json"):
        (REAL_TOKENIZER_DIR / name).unlink(missing_ok=True)
    tokenizer = CLIPTokenizerFast.from_pretrained(REAL_TOKENIZER_DIR)
    assert len(tokenizer) == REAL_VOCAB_SIZE
    sanity = tokenizer("a photo of a cat")["input_ids"]
    assert sanity == [49406, 320, 1125, 539, 320, 2368, 49407], sanity
    rows, truncated = [], 0
    for text in clip_fuzzed_captions():
        ids = tokenizer(text, padding="max_length", max_length=TEXT_LENGTH, truncation=True)["input_ids"]
        assert ids == fast(text, padding="max_length", max_length=TEXT_LENGTH, truncation=True)["input_ids"]
        untruncated = len(tokenizer(text)["input_ids"])
        truncated += untruncated > TEXT_LENGTH
        rows.append({"text": text, "input_ids": ids, "truncated": untruncated > TEXT_LENGTH})
    write_compact_json(GOLDEN_DIR / "tokenizer.json", {
        "seed": SEED,
        "tokenizer_dir": "test/fixtures/clip-tokenizer",
        "text_length": TEXT_LENGTH,
        "call": 'CLIPTokenizerFast.from_pretrained(folder)(text, padding="max_length", max_length=77, truncation=True).input_ids',
        "special_ids": {"bos": tokenizer.bos_token_id, "eos": tokenizer.eos_token_id, "pad": tokenizer.pad_token_id,
                        "unk": tokenizer.unk_token_id},
        "captions": rows,
    })
    print(f"clip-tokenizer: {len(rows)} captions, {truncated} truncated")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    build_tiny()
    build_real_tokenizer()


if __name__ == "__main__":
    main()
