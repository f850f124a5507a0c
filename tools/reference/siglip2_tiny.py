"""Tiny random-weight fixed-resolution SigLIP 2 (as google/siglip2-base-patch16-224 is), with goldens.

The fixed-resolution SigLIP 2 checkpoints are `SiglipModel`s (model_type "siglip") with a Gemma
tokenizer: this writes test/fixtures/siglip2-tiny/ with image size 224, patch 16, hidden 32,
2 layers, text length 64 and the vocabulary of the tiny Gemma tokenizer that
siglip2_tokenizer.py makes (its four files are copied in), config.json, preprocessor_config.json
(SiglipImageProcessor: 224x224, bilinear, mean/std 0.5) and the hub layout's
onnx/vision_model.onnx (pixel_values -> last_hidden_state, pooler_output) and
onnx/text_model.onnx (input_ids -> last_hidden_state, pooler_output), exported as siglip_tiny.py
exports its towers.

Goldens in test/fixtures/goldens/siglip2/ (tokenizer.json there belongs to siglip2_tokenizer.py
and is left alone): image_embeds.npy (get_image_features on the processor's pixel_values, not
normalised, every test image), text_embeds.npy (get_text_features of the lowercased captions,
`tokenizer(text.lower(), padding="max_length", max_length=64, truncation=True)` as the model
card calls it), text_embeds_cased.npy (the same without lowercasing), logits_per_image.npy
(images x lowercased captions) and goldens.json.
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from transformers import GemmaTokenizerFast, SiglipConfig, SiglipImageProcessor, SiglipModel

from common import FIXTURES, IMAGES_DIR, SEED, image_manifest, max_abs_diff, ort_session, save_npy, seed_everything
from clip_tiny import write_compact_json
from siglip_tiny import CAPTIONS, export_model

MODEL_DIR = FIXTURES / "siglip2-tiny"
TOKENIZER_DIR = FIXTURES / "siglip2-tokenizer"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model")
GOLDEN_DIR = FIXTURES / "goldens" / "siglip2"
TEXT_LENGTH = 64
IMAGE_SIZE = 224


def reference_decode(path: Path) -> Image.Image:
    """How a Python user loads an image: PIL, EXIF orientation applied, converted to RGB."""
    return ImageOps.exif_transpose(Image.open(path)).convert("RGB")


def sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array, dtype=np.float32).tobytes()).hexdigest()


def check_export(model: SiglipModel, pixel_values: torch.Tensor, ids: dict[str, torch.Tensor]) -> dict:
    onnx_dir = MODEL_DIR / "onnx"
    checks = {}
    with torch.no_grad():
        vision = model.vision_model(pixel_values=pixel_values)
        texts = {name: model.text_model(input_ids=value) for name, value in ids.items()}
    v = ort_session(onnx_dir / "vision_model.onnx").run(None, {"pixel_values": pixel_values.numpy()})
    checks["vision_model.last_hidden_state"] = max_abs_diff(v[0], vision.last_hidden_state)
    checks["vision_model.pooler_output"] = max_abs_diff(v[1], vision.pooler_output)
    text_session = ort_session(onnx_dir / "text_model.onnx")
    for name, value in ids.items():
        t = text_session.run(None, {"input_ids": value.numpy()})
        checks[f"text_model.last_hidden_state ({name})"] = max_abs_diff(t[0], texts[name].last_hidden_state)
        checks[f"text_model.pooler_output ({name})"] = max_abs_diff(t[1], texts[name].pooler_output)
    for name, diff in checks.items():
        print(f"  {name}: max abs diff {diff:.3g}")
        if not diff < 1e-4:
            raise SystemExit(f"ONNX export differs from PyTorch: {name} max abs diff {diff}")
    return checks


def fresh_model_folder(model_dir: Path) -> GemmaTokenizerFast:
    """Empties model_dir and copies the tiny Gemma tokenizer into it; returns that tokenizer (pad 0, eos 1, bos 2)."""
    if model_dir.exists():
        shutil.rmtree(model_dir)
    model_dir.mkdir(parents=True)
    for name in TOKENIZER_FILES:
        shutil.copy(TOKENIZER_DIR / name, model_dir / name)
    tokenizer = GemmaTokenizerFast.from_pretrained(model_dir)
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.bos_token_id) == (0, 1, 2)
    return tokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    seed_everything()
    tokenizer = fresh_model_folder(MODEL_DIR)

    config = SiglipConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=TEXT_LENGTH, pad_token_id=tokenizer.pad_token_id,
                         eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id),
        vision_config=dict(image_size=IMAGE_SIZE, patch_size=16, hidden_size=32, intermediate_size=64,
                           num_hidden_layers=2, num_attention_heads=2),
    )
    model = SiglipModel._from_config(config, attn_implementation="eager").eval()
    model.config.save_pretrained(MODEL_DIR)
    processor = SiglipImageProcessor(
        do_resize=True, size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}, resample=Image.BILINEAR,
        do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
        image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5], do_convert_rgb=True,
    )
    processor.save_pretrained(MODEL_DIR)

    captions, ids = [], {"lowercased": [], "as_is": []}
    for text in CAPTIONS:
        row = {"text": text}
        for name, value in (("lowercased", text.lower()), ("as_is", text)):
            encoded = tokenizer(value, padding="max_length", max_length=TEXT_LENGTH, truncation=True)["input_ids"]
            content = tokenizer(value, add_special_tokens=False)["input_ids"]
            row[name] = {"input_ids": encoded, "truncated": len(content) > TEXT_LENGTH - 1}
            ids[name].append(encoded)
        captions.append(row)
    ids = {name: torch.tensor(rows, dtype=torch.long) for name, rows in ids.items()}

    images, pixel_values = [], []
    for i, entry in enumerate(image_manifest()):
        decoded = reference_decode(IMAGES_DIR / entry["file"])
        # channels_last stated: HF guesses channels-first for a 1x1 image and fails.
        pv = processor(images=decoded, return_tensors="pt", input_data_format="channels_last")["pixel_values"]
        images.append({"index": i, "file": entry["file"], "decoded_size": list(decoded.size),
                       "pixel_values_sha256": sha256(pv[0].numpy())})
        pixel_values.append(pv)
    pixel_values = torch.cat(pixel_values)

    export_model(model, MODEL_DIR, pixel_values[:2], ids["lowercased"][:2], combined=False)
    checks = check_export(model, pixel_values, ids)

    with torch.no_grad():
        image_embeds = model.get_image_features(pixel_values=pixel_values)
        text_embeds = model.get_text_features(input_ids=ids["lowercased"])
        text_embeds_cased = model.get_text_features(input_ids=ids["as_is"])
        logits = model(input_ids=ids["lowercased"], pixel_values=pixel_values).logits_per_image
    save_npy(GOLDEN_DIR / "image_embeds.npy", image_embeds.numpy())
    save_npy(GOLDEN_DIR / "text_embeds.npy", text_embeds.numpy())
    save_npy(GOLDEN_DIR / "text_embeds_cased.npy", text_embeds_cased.numpy())
    save_npy(GOLDEN_DIR / "logits_per_image.npy", logits.numpy())
    write_compact_json(GOLDEN_DIR / "goldens.json", {
        "seed": SEED,
        "model_dir": "test/fixtures/siglip2-tiny",
        "text_length": TEXT_LENGTH,
        "call": 'GemmaTokenizerFast.from_pretrained(folder)(text.lower() or text, padding="max_length", max_length=64, truncation=True).input_ids',
        "special_ids": {"pad": tokenizer.pad_token_id, "eos": tokenizer.eos_token_id, "bos": tokenizer.bos_token_id},
        "logit_scale": float(model.logit_scale.exp().item()),
        "logit_bias": float(model.logit_bias.item()),
        "images": images,
        "captions": captions,
        "onnx_vs_torch_max_abs_diff": checks,
        "arrays": {
            "image_embeds.npy": "get_image_features: the vision pooler_output (attention-pooling head), not normalised, one row per image",
            "text_embeds.npy": "get_text_features of the lowercased captions' ids (text pooler_output), not normalised",
            "text_embeds_cased.npy": "get_text_features of the captions' ids without lowercasing",
            "logits_per_image.npy": "SiglipModel logits_per_image, images x lowercased captions (logit_scale exp and logit_bias applied)",
        },
    })
    print("siglip2-tiny: written")


if __name__ == "__main__":
    main()
