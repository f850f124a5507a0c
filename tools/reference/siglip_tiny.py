"""Tiny random-weight SigLIP: build, export to the hub's ONNX layout, and write PyTorch goldens.

The model keeps the real image size (384) and patch size (14), so preprocessing and the
729-token vision sequence are exercised; hidden sizes and depth are tiny so the files stay small.
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel, SiglipTokenizer

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
    train_sentencepiece,
    write_json,
)
from onnx_export import convert_float16, export, quantize_dynamic_int8

MODEL_DIR = FIXTURES / "siglip-tiny"
# The vision graph again with its weights in an external file, as large hub exports store them.
EXTERNAL_DIR = FIXTURES / "siglip-tiny-external"
GOLDEN_DIR = FIXTURES / "goldens" / "siglip"
TEXT_LENGTH = 64

TINY_CONFIG = dict(
    text_config=dict(
        vocab_size=1000,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=TEXT_LENGTH,
        pad_token_id=1,
        eos_token_id=1,
    ),
    vision_config=dict(
        image_size=384,
        patch_size=14,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
    ),
)

# Captions that stress SiglipTokenizer's canonicalisation: case, ASCII punctuation (stripped),
# unicode punctuation (kept), whitespace runs, emoji, digits, over-long and empty input.
CAPTIONS = [
    "A photo of a tench.",
    "a photo of a TENCH",
    "  Hello,   World!!  ",
    "It's a dog's life: (really) [sic] {x} <y> @home #1 $5 %50 ^_^ ~/path\\to|file;",
    "Café crème brûlée — naïve façade «quoted» “smart quotes” …",
    "東京の写真 and a 🐱 cat 🚗",
    "tabs\tand\nnewlines\r\nmixed",
    "3.14159 is pi, 2,000,000 is two million",
    "great white shark, white shark, man-eater, man-eating shark, Carcharodon carcharias",
    " ".join(["a very long caption that keeps going"] * 12),
    "",
    "!!!",
]


def training_corpus() -> list[str]:
    lines = []
    mapping = SHARED_REFERENCE / "LOC_synset_mapping.txt"
    for line in mapping.read_text().splitlines():
        _, names = line.split(" ", 1)
        lines.append(names.lower())
        lines.append(f"a photo of a {names.split(',')[0].lower()}")
    lines += [c.lower() for c in CAPTIONS if c]
    return lines


def build_tokenizer(out_dir: Path) -> SiglipTokenizer:
    """Trains a small unigram SentencePiece model with SigLIP's special ids (pad 0, eos 1, unk 2)."""
    train_sentencepiece(training_corpus(), out_dir / "spiece.model", TINY_CONFIG["text_config"]["vocab_size"])
    tokenizer = SiglipTokenizer(vocab_file=str(out_dir / "spiece.model"), model_max_length=TEXT_LENGTH)
    tokenizer.save_pretrained(out_dir)
    write_fast_tokenizer_json(tokenizer, out_dir)
    return tokenizer


def write_fast_tokenizer_json(tokenizer: SiglipTokenizer, out_dir: Path) -> None:
    """tokenizer.json as hub exports carry it: the SentencePiece unigram model in the tokenizers format.

    Transformers has no SigLIP converter; the generic SentencePiece converter gives the model and
    vocabulary, and `emb` applies SigLIP's canonicalisation and padding itself.
    """
    from transformers.convert_slow_tokenizer import SpmConverter

    fast = SpmConverter(tokenizer).converted()
    fast.save(str(out_dir / "tokenizer.json"))


def check_fast_tokenizer(tokenizer: SiglipTokenizer, rows: list[dict]) -> dict:
    """Whether tokenizer.json, given SigLIP-canonicalised text, yields SiglipTokenizer's pieces.

    Records per caption whether they agree, so a consumer of tokenizer.json knows what the
    canonicalisation (lowercase, ASCII punctuation removed, whitespace collapsed) must supply.
    """
    from tokenizers import Tokenizer

    fast = Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
    result = {}
    for row in rows:
        canonical = tokenizer.canonicalize_text(row["text"].lower())
        slow = [t for t in row["tokens"] if t != "</s>"]
        result[row["text"]] = {"canonical": canonical, "equal": fast.encode(canonical, add_special_tokens=False).tokens == slow}
    return result


def reference_decode(path: Path) -> Image.Image:
    """How a Python user loads an image: PIL, EXIF orientation applied, converted to RGB."""
    return ImageOps.exif_transpose(Image.open(path)).convert("RGB")


class VisionTower(torch.nn.Module):
    def __init__(self, model: SiglipModel):
        super().__init__()
        self.vision = model.vision_model

    def forward(self, pixel_values):
        out = self.vision(pixel_values=pixel_values)
        return out.last_hidden_state, out.pooler_output


class TextTower(torch.nn.Module):
    def __init__(self, model: SiglipModel):
        super().__init__()
        self.text = model.text_model

    def forward(self, input_ids):
        out = self.text(input_ids=input_ids)
        return out.last_hidden_state, out.pooler_output


class Combined(torch.nn.Module):
    def __init__(self, model: SiglipModel):
        super().__init__()
        self.model = model

    def forward(self, input_ids, pixel_values):
        out = self.model(input_ids=input_ids, pixel_values=pixel_values)
        return out.logits_per_image, out.logits_per_text, out.text_embeds, out.image_embeds


def export_model(model: SiglipModel, out_dir: Path, sample_pixels: torch.Tensor, sample_ids: torch.Tensor,
                 external_data: bool = False, combined: bool = True) -> None:
    onnx_dir = out_dir / "onnx"
    export(
        VisionTower(model), (sample_pixels,), onnx_dir / "vision_model.onnx",
        ["pixel_values"], ["last_hidden_state", "pooler_output"],
        {"pixel_values": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"}, "pooler_output": {0: "batch_size"}},
        external_data,
    )
    export(
        TextTower(model), (sample_ids,), onnx_dir / "text_model.onnx",
        ["input_ids"], ["last_hidden_state", "pooler_output"],
        {"input_ids": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"}, "pooler_output": {0: "batch_size"}},
        external_data,
    )
    if not combined:
        return
    export(
        Combined(model), (sample_ids, sample_pixels), onnx_dir / "model.onnx",
        ["input_ids", "pixel_values"], ["logits_per_image", "logits_per_text", "text_embeds", "image_embeds"],
        {
            "input_ids": {0: "text_batch_size"},
            "pixel_values": {0: "image_batch_size"},
            "logits_per_image": {0: "image_batch_size", 1: "text_batch_size"},
            "logits_per_text": {0: "text_batch_size", 1: "image_batch_size"},
            "text_embeds": {0: "text_batch_size"},
            "image_embeds": {0: "image_batch_size"},
        },
    )
    quantize_dynamic_int8(onnx_dir / "vision_model.onnx", onnx_dir / "vision_model_quantized.onnx")
    convert_float16(onnx_dir / "vision_model.onnx", onnx_dir / "vision_model_fp16.onnx")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    seed_everything()
    if MODEL_DIR.exists():
        shutil.rmtree(MODEL_DIR)
    MODEL_DIR.mkdir(parents=True)

    tokenizer = build_tokenizer(MODEL_DIR)
    config = SiglipConfig(**TINY_CONFIG)
    model = SiglipModel(config).eval()
    model.config.save_pretrained(MODEL_DIR)
    processor = SiglipImageProcessor(
        do_resize=True, size={"height": 384, "width": 384}, resample=Image.BICUBIC,
        do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
        image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5], do_convert_rgb=True,
    )
    processor.save_pretrained(MODEL_DIR)

    # Tokens: the Triton deployment's call, processor(text, padding="max_length").
    token_rows = []
    for caption in CAPTIONS:
        encoded = tokenizer(caption, padding="max_length", truncation=True, max_length=TEXT_LENGTH)
        untruncated = tokenizer(caption)["input_ids"]
        token_rows.append({
            "text": caption,
            "input_ids": encoded["input_ids"],
            "tokens": tokenizer.convert_ids_to_tokens(untruncated),
            "truncated": len(untruncated) > TEXT_LENGTH,
        })
    input_ids = torch.tensor([row["input_ids"] for row in token_rows], dtype=torch.long)
    fast_agrees = check_fast_tokenizer(tokenizer, token_rows)

    # Images: the reference decode, the slow (PIL) processor, then the resized uint8 pixels are
    # kept losslessly so that a test can compare its own resize with PIL's exactly.
    images = image_manifest()
    pixel_values = []
    for entry in images:
        decoded = reference_decode(IMAGES_DIR / entry["file"])
        # channels_last stated: HF guesses channels-first for a 1x1 image and fails.
        pv = processor(images=decoded, return_tensors="pt", input_data_format="channels_last")["pixel_values"]
        resized = np.rint((pv[0].numpy().transpose(1, 2, 0) * 0.5 + 0.5) * 255).astype(np.uint8)
        GOLDEN_DIR.joinpath("pixels").mkdir(parents=True, exist_ok=True)
        Image.fromarray(resized).save(GOLDEN_DIR / "pixels" / (Path(entry["file"]).stem + ".png"))
        entry.update({"decoded_size": list(decoded.size)})
        pixel_values.append(pv)
    pixel_values = torch.cat(pixel_values)

    with torch.no_grad():
        vision = model.vision_model(pixel_values=pixel_values)
        text = model.text_model(input_ids=input_ids)
        combined = model(input_ids=input_ids, pixel_values=pixel_values)

    save_npy(GOLDEN_DIR / "pixel_values_sum.npy", pixel_values.double().sum(dim=(2, 3)).numpy())
    save_npy(GOLDEN_DIR / "vision_pooler_output.npy", vision.pooler_output.numpy())
    save_npy(GOLDEN_DIR / "image_embeds.npy", combined.image_embeds.numpy())
    save_npy(GOLDEN_DIR / "text_pooler_output.npy", text.pooler_output.numpy())
    save_npy(GOLDEN_DIR / "text_embeds.npy", combined.text_embeds.numpy())
    save_npy(GOLDEN_DIR / "logits_per_image.npy", combined.logits_per_image.numpy())
    save_npy(GOLDEN_DIR / "input_ids.npy", input_ids.numpy().astype(np.int64))

    export_model(model, MODEL_DIR, pixel_values[:2], input_ids[:2])
    write_external_copy()
    checks = check_export(pixel_values, input_ids, vision, text, combined)
    write_json(GOLDEN_DIR / "goldens.json", {
        "seed": SEED,
        "model_dir": "test/fixtures/siglip-tiny",
        "text_length": TEXT_LENGTH,
        "logit_scale": float(model.logit_scale.item()),
        "logit_bias": float(model.logit_bias.item()),
        "images": [
            {"index": i, "file": e["file"], "decoded_size": e["decoded_size"], "pixels": f"pixels/{Path(e['file']).stem}.png"}
            for i, e in enumerate(images)
        ],
        "captions": token_rows,
        "tokenizer_json_agrees": fast_agrees,
        "onnx_vs_torch_max_abs_diff": checks,
        "arrays": {
            "pixel_values_sum.npy": "per image and channel, the sum of pixel_values over 384x384 (float64)",
            "vision_pooler_output.npy": "vision_model.onnx pooler_output (not normalised), one row per image",
            "image_embeds.npy": "model.onnx image_embeds (L2-normalised pooler_output)",
            "text_pooler_output.npy": "text_model.onnx pooler_output, one row per caption",
            "text_embeds.npy": "model.onnx text_embeds (L2-normalised)",
            "logits_per_image.npy": "model.onnx logits_per_image, images x captions",
            "input_ids.npy": "the captions' input ids, padded to 64 (int64)",
        },
    })
    print("siglip-tiny: export check", checks)


def write_external_copy() -> None:
    import onnx

    if EXTERNAL_DIR.exists():
        shutil.rmtree(EXTERNAL_DIR)
    (EXTERNAL_DIR / "onnx").mkdir(parents=True)
    for name in ("config.json", "preprocessor_config.json"):
        shutil.copy(MODEL_DIR / name, EXTERNAL_DIR / name)
    graph = onnx.load(str(MODEL_DIR / "onnx" / "vision_model.onnx"))
    onnx.save_model(graph, str(EXTERNAL_DIR / "onnx" / "vision_model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="vision_model.onnx_data", size_threshold=0)


def check_export(pixel_values, input_ids, vision, text, combined) -> dict:
    onnx_dir = MODEL_DIR / "onnx"
    v = ort_session(onnx_dir / "vision_model.onnx").run(None, {"pixel_values": pixel_values.numpy()})
    t = ort_session(onnx_dir / "text_model.onnx").run(None, {"input_ids": input_ids.numpy()})
    c = ort_session(onnx_dir / "model.onnx").run(None, {"input_ids": input_ids.numpy(), "pixel_values": pixel_values.numpy()})
    e = ort_session(EXTERNAL_DIR / "onnx" / "vision_model.onnx").run(None, {"pixel_values": pixel_values.numpy()})
    q = ort_session(onnx_dir / "vision_model_quantized.onnx").run(None, {"pixel_values": pixel_values.numpy()})
    h = ort_session(onnx_dir / "vision_model_fp16.onnx").run(None, {"pixel_values": pixel_values.numpy().astype(np.float16)})
    checks = {
        "vision_model.pooler_output": max_abs_diff(v[1], vision.pooler_output),
        "vision_model.last_hidden_state": max_abs_diff(v[0], vision.last_hidden_state),
        "text_model.pooler_output": max_abs_diff(t[1], text.pooler_output),
        "model.image_embeds": max_abs_diff(c[3], combined.image_embeds),
        "model.text_embeds": max_abs_diff(c[2], combined.text_embeds),
        "model.logits_per_image": max_abs_diff(c[0], combined.logits_per_image),
        "vision_model_quantized.pooler_output": max_abs_diff(q[1], vision.pooler_output),
        "vision_model_fp16.pooler_output": max_abs_diff(h[1], vision.pooler_output),
        "external_data.vision_model.pooler_output": max_abs_diff(e[1], vision.pooler_output),
    }
    for name, diff in checks.items():
        limit = 0.5 if "quantized" in name else 0.05 if "fp16" in name else 1e-4
        if diff > limit:
            raise SystemExit(f"ONNX export differs from PyTorch: {name} max abs diff {diff}")
    return checks


if __name__ == "__main__":
    main()
