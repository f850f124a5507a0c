"""Tiny random-weight SigLIP 2 NaFlex (as google/siglip2-base-patch16-naflex is), with goldens.

Writes test/fixtures/siglip2-naflex-tiny/: a `Siglip2Model` (model_type "siglip2"; vision patch 16,
num_patches 256 (a 16 x 16 position grid), hidden 32, 2 layers, 2 heads; text as siglip2_tiny.py's:
hidden 32, 2 layers, 64 positions, the vocabulary of the tiny Gemma tokenizer that
siglip2_tokenizer.py makes, whose four files are copied in), config.json, preprocessor_config.json
(`Siglip2ImageProcessor(max_num_patches=256, patch_size=16)`: the NaFlex checkpoints' defaults),
onnx/vision_model.onnx (tools/export/naflex.py: pixel_values [batch, num_patches, 768],
pixel_attention_mask and spatial_shapes -> last_hidden_state, pooler_output) and
onnx/text_model.onnx (input_ids [batch, 64] -> last_hidden_state, pooler_output).

Before the export, naflex.py's batched position-embedding resize is checked against transformers'
resize_positional_embeddings on a sweep of grids (up- and downscaling, h or w = 1, very wide and
very tall); after it, the graph against PyTorch on each image alone, on batches mixing grids, padded
to max_num_patches and only to the batch's largest h * w.

Goldens in test/fixtures/goldens/siglip2-naflex-model/: image_embeds_256.npy and
image_embeds_64.npy (get_image_features, not normalised, one row per image of
test/fixtures/images/manifest.json, each image run alone as Siglip2ImageProcessor returns it at
max_num_patches 256 and 64), text_embeds.npy (get_text_features of lowercased captions,
`tokenizer(text.lower(), padding="max_length", max_length=64, truncation=True)`), and goldens.json
(per image and patch budget the spatial shape, mask sum and pixel_values SHA-256; caption ids;
logit_scale, logit_bias; the checks' differences).
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from transformers import Siglip2Config, Siglip2ImageProcessor, Siglip2Model

from common import FIXTURES, IMAGES_DIR, SEED, image_manifest, max_abs_diff, ort_session, save_npy, seed_everything
from clip_tiny import write_compact_json
from siglip_tiny import CAPTIONS
from siglip2_tiny import fresh_model_folder

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "export"))

import naflex  # noqa: E402

MODEL_DIR = FIXTURES / "siglip2-naflex-tiny"
GOLDEN_DIR = FIXTURES / "goldens" / "siglip2-naflex-model"
TEXT_LENGTH = 64
PATCH = 16
GRID = 16
PATCH_BUDGETS = (256, 64)
# The resize sweep: every (h, w) from these sides with h * w <= 4096 (1 x 1024 and 1024 x 1 included).
SWEEP_SIDES = sorted({*range(1, 34), 40, 47, 48, 63, 64, 65, 100, 128, 255, 256, 512, 1000, 1024})
SWEEP_MAX_PATCHES = 4096
# Images of the mixed batches: a landscape, a portrait, the 2400 x 200 panorama and others.
MIXED = ("photo_500x375.jpg", "portrait_375x500.jpg", "panorama_2400x200.jpg", "tiny_1x1.png", "large_1280x720.jpg")


def reference_decode(path: Path) -> Image.Image:
    """How a Python user loads an image: PIL, EXIF orientation applied, converted to RGB."""
    return ImageOps.exif_transpose(Image.open(path)).convert("RGB")


def sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array, dtype=np.float32).tobytes()).hexdigest()


def resize_sweep(model: Siglip2Model) -> dict:
    """naflex.BatchedPositionResize against transformers' resize_positional_embeddings: batches of
    eight grids padded to their largest h * w, and each grid alone padded past it."""
    shapes = [(h, w) for h in SWEEP_SIDES for w in SWEEP_SIDES if h * w <= SWEEP_MAX_PATCHES]
    worst = 0.0
    for start in range(0, len(shapes), 8):
        worst = max(worst, naflex.resize_matches_transformers(model, shapes[start:start + 8]))
    extremes = [(1, 1), (1, 1024), (1024, 1), (2, 512), (512, 2), (3, 341), (341, 3), (16, 16), (15, 17), (64, 64), (7, 1), (16, 1)]
    for shape in extremes:
        worst = max(worst, naflex.resize_matches_transformers(model, [shape], num_patches=shape[0] * shape[1] + 9))
    print(f"  position resize vs transformers on {len(shapes) + len(extremes)} grids: max abs diff {worst:.3g}")
    if not worst <= 1e-6:
        raise SystemExit(f"batched position resize differs from transformers: {worst}")
    return {"grids": len(shapes) + len(extremes), "max_abs_diff": worst}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    seed_everything()
    tokenizer = fresh_model_folder(MODEL_DIR)

    config = Siglip2Config(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=TEXT_LENGTH, pad_token_id=tokenizer.pad_token_id,
                         eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id),
        vision_config=dict(patch_size=PATCH, num_patches=GRID * GRID, hidden_size=32, intermediate_size=64,
                           num_hidden_layers=2, num_attention_heads=2),
    )
    model = Siglip2Model._from_config(config, attn_implementation="eager").eval()
    model.config.save_pretrained(MODEL_DIR)
    processor = Siglip2ImageProcessor(max_num_patches=PATCH_BUDGETS[0], patch_size=PATCH)
    processor.save_pretrained(MODEL_DIR)

    resize = resize_sweep(model)

    captions, ids = [], []
    for text in CAPTIONS:
        encoded = tokenizer(text.lower(), padding="max_length", max_length=TEXT_LENGTH, truncation=True)["input_ids"]
        captions.append({"text": text, "input_ids": encoded})
        ids.append(encoded)
    ids = torch.tensor(ids, dtype=torch.long)

    images, processed = [], {budget: {} for budget in PATCH_BUDGETS}
    for i, entry in enumerate(image_manifest()):
        decoded = reference_decode(IMAGES_DIR / entry["file"])
        row = {"index": i, "file": entry["file"], "decoded_size": list(decoded.size)}
        for budget in PATCH_BUDGETS:
            # channels_last stated: the processor guesses channels-first for an image 1 or 3 pixels high.
            out = processor(images=decoded, max_num_patches=budget, return_tensors="pt", input_data_format="channels_last")
            item = {"pixel_values": out["pixel_values"].to(torch.float32),
                    "pixel_attention_mask": out["pixel_attention_mask"].to(torch.int64),
                    "spatial_shapes": out["spatial_shapes"].to(torch.int64)}
            assert item["pixel_values"].shape == (1, budget, 3 * PATCH * PATCH)
            processed[budget][entry["file"]] = item
            row[str(budget)] = {"spatial_shape": item["spatial_shapes"][0].tolist(),
                                "mask_sum": int(item["pixel_attention_mask"].sum()),
                                "pixel_values_sha256": sha256(item["pixel_values"][0].numpy())}
        images.append(row)

    onnx_dir = MODEL_DIR / "onnx"
    sample = naflex.collate([processed[256]["photo_500x375.jpg"], processed[256]["portrait_375x500.jpg"]])
    naflex.export_naflex(model, onnx_dir / "vision_model.onnx", sample)
    naflex.export_text(model, onnx_dir / "text_model.onnx", ids[:2])

    files = [entry["file"] for entry in image_manifest()]
    batches = {}
    for budget in PATCH_BUDGETS:
        for name in files:
            batches[f"{name} alone @{budget}"] = processed[budget][name]
        mixed = [processed[budget][name] for name in MIXED]
        batches[f"landscape+portrait+panorama+1x1+1280x720 @{budget}, padded to {budget}"] = naflex.collate(mixed, budget)
        batches[f"landscape+portrait+panorama+1x1+1280x720 @{budget}, padded to the largest h*w"] = naflex.collate(mixed)
        everything = [processed[budget][name] for name in files]
        batches[f"all {len(files)} images @{budget}, padded to the largest h*w"] = naflex.collate(everything)
    # Grids one patch wide or high (torch's CPU resize has its own result when w = 1), random pixels.
    generator = torch.Generator().manual_seed(SEED)
    thin = [(64, 1), (1, 64), (3, 1), (16, 1), (1, 1), (8, 8), (2, 32)]
    batches["random pixels, grids 64x1, 1x64, 3x1, 16x1, 1x1, 8x8, 2x32, padded to 70"] = {
        "pixel_values": torch.randn(len(thin), 70, 3 * PATCH * PATCH, generator=generator),
        "pixel_attention_mask": (torch.arange(70)[None, :] < torch.tensor([h * w for h, w in thin])[:, None]).to(torch.int64),
        "spatial_shapes": torch.tensor(thin, dtype=torch.int64),
    }
    session = ort_session(onnx_dir / "vision_model.onnx")
    detailed = naflex.check_naflex(model, session, batches)
    # Stored per kind of check: the largest difference over the batches of a kind.
    checks = {"vision": {}, "text": {}}
    for name, diff in detailed.items():
        batch, what = name.split(": ", 1)
        kind = "each image alone" if " alone @" in batch else batch.replace(f"{batch.split(' @')[0]}", "mixed batch", 1) \
            if batch.startswith(("landscape", "all ")) else batch
        key = f"{kind}: {what}"
        checks["vision"][key] = max(checks["vision"].get(key, 0.0), diff)

    with torch.no_grad():
        text_out = model.text_model(input_ids=ids)
    t = ort_session(onnx_dir / "text_model.onnx").run(None, {"input_ids": ids.numpy()})
    checks["text"]["last_hidden_state"] = max_abs_diff(t[0], text_out.last_hidden_state)
    checks["text"]["pooler_output"] = max_abs_diff(t[1], text_out.pooler_output)
    for name, diff in checks["text"].items():
        print(f"  text {name}: max abs diff {diff:.3g}")
        if not diff < 1e-4:
            raise SystemExit(f"ONNX text export differs from PyTorch: {name} max abs diff {diff}")

    with torch.no_grad():
        for budget in PATCH_BUDGETS:
            rows = [model.get_image_features(**processed[budget][name]) for name in files]
            save_npy(GOLDEN_DIR / f"image_embeds_{budget}.npy", torch.cat(rows).numpy())
        text_embeds = model.get_text_features(input_ids=ids)
    save_npy(GOLDEN_DIR / "text_embeds.npy", text_embeds.numpy())
    write_compact_json(GOLDEN_DIR / "goldens.json", {
        "seed": SEED,
        "model_dir": "test/fixtures/siglip2-naflex-tiny",
        "text_length": TEXT_LENGTH,
        "call": 'GemmaTokenizerFast.from_pretrained(folder)(text.lower(), padding="max_length", max_length=64, truncation=True).input_ids',
        "image_call": 'Siglip2ImageProcessor.from_pretrained(folder)(image, max_num_patches=N, input_data_format="channels_last"), '
                      'image = ImageOps.exif_transpose(Image.open(path)).convert("RGB"); one image per call',
        "special_ids": {"pad": tokenizer.pad_token_id, "eos": tokenizer.eos_token_id, "bos": tokenizer.bos_token_id},
        "logit_scale": float(model.logit_scale.exp().item()),
        "logit_bias": float(model.logit_bias.item()),
        "max_num_patches": list(PATCH_BUDGETS),
        "images": images,
        "captions": captions,
        "position_resize_vs_transformers": resize,
        "onnx_vs_torch_max_abs_diff": checks,
        "arrays": {
            "image_embeds_256.npy": "get_image_features (vision pooler_output), not normalised, one row per manifest image, "
                                    "each image alone as the processor returns it at max_num_patches 256 (padded to 256)",
            "image_embeds_64.npy": "the same at max_num_patches 64",
            "text_embeds.npy": "get_text_features of the lowercased captions' ids (text pooler_output), not normalised",
        },
    })
    print("siglip2-naflex-tiny: written")


if __name__ == "__main__":
    main()
