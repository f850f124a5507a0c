"""Tiny random-weight DINOv2 (plain and with registers) in the hub layout, with PyTorch goldens.

Writes test/fixtures/dinov2-tiny/ (`Dinov2Model`) and test/fixtures/dinov2-registers-tiny/
(`Dinov2WithRegistersModel`, 4 register tokens): image size 518 and patch 14 as the real
checkpoints have (so the position embeddings are interpolated to the 16x16 grid of a 224 crop),
hidden 32, 2 layers, 2 heads, MLP ratio 2; config.json, preprocessor_config.json as
facebook/dinov2-small has it (BitImageProcessor: shortest edge 256, bicubic, 224 centre crop,
ImageNet mean/std) and onnx/model.onnx (pixel_values with dynamic batch, height and width ->
last_hidden_state, pooler_output).

Goldens in test/fixtures/goldens/dinov2/{plain,registers}/: pooler_output.npy (the CLS token
after the final layer norm), mean_patch.npy (last_hidden_state averaged over the patch tokens
only, without CLS and register tokens) and goldens.json (images in order, the processor's
pixel_values SHA-256 per image) for every test image.
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from transformers import BitImageProcessor, Dinov2Config, Dinov2Model, Dinov2WithRegistersConfig, Dinov2WithRegistersModel

from common import FIXTURES, IMAGES_DIR, SEED, image_manifest, max_abs_diff, ort_session, save_npy, seed_everything, write_json
from onnx_export import export  # puts tools/export on sys.path
from onnx_graphs import export_antialiased  # noqa: E402  (shared with tools/export/export.py)

GOLDEN_ROOT = FIXTURES / "goldens" / "dinov2"
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
SIZES = dict(image_size=518, patch_size=14, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, mlp_ratio=2)
VARIANTS = {
    # name: (model folder, config class, model class, extra config, register tokens)
    "plain": ("dinov2-tiny", Dinov2Config, Dinov2Model, {}, 0),
    "registers": ("dinov2-registers-tiny", Dinov2WithRegistersConfig, Dinov2WithRegistersModel, {"num_register_tokens": 4}, 4),
}
# Sizes besides the 224 crop the graph is checked at (height, width): the grid follows the input.
# Dinov2WithRegisters interpolates its position embeddings with antialiasing: exported with
# tools/export/onnx_graphs.py's export_antialiased (opset 18, whose Resize has antialias).
OTHER_SIZES = [(280, 196), (518, 518), (100, 61)]


def reference_decode(path: Path) -> Image.Image:
    """How a Python user loads an image: PIL, EXIF orientation applied, converted to RGB."""
    return ImageOps.exif_transpose(Image.open(path)).convert("RGB")


def processor() -> BitImageProcessor:
    """facebook/dinov2-small's preprocessor_config.json."""
    return BitImageProcessor(
        do_resize=True, size={"shortest_edge": 256}, resample=Image.BICUBIC, do_center_crop=True,
        crop_size={"height": 224, "width": 224}, do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
        image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD, do_convert_rgb=True,
    )


class Backbone(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        out = self.model(pixel_values=pixel_values)
        return out.last_hidden_state, out.pooler_output


def sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array, dtype=np.float32).tobytes()).hexdigest()


def build(name: str, pixel_values: torch.Tensor, images: list[dict]) -> dict:
    folder, config_class, model_class, extra, registers = VARIANTS[name]
    model_dir = FIXTURES / folder
    golden_dir = GOLDEN_ROOT / name
    seed_everything()
    if model_dir.exists():
        shutil.rmtree(model_dir)
    model_dir.mkdir(parents=True)
    config = config_class(**SIZES, **extra)
    model = model_class._from_config(config, attn_implementation="eager").eval()
    model.config.save_pretrained(model_dir)
    processor().save_pretrained(model_dir)

    onnx_path = model_dir / "onnx" / "model.onnx"
    names = (["pixel_values"], ["last_hidden_state", "pooler_output"],
             {"pixel_values": {0: "batch_size", 2: "height", 3: "width"},
              "last_hidden_state": {0: "batch_size", 1: "sequence_length"}, "pooler_output": {0: "batch_size"}})
    if registers:
        export_antialiased(Backbone(model), (pixel_values[:2],), onnx_path, *names)
    else:
        export(Backbone(model), (pixel_values[:2],), onnx_path, *names)

    session = ort_session(onnx_path)
    generator = torch.Generator().manual_seed(SEED)
    checks = {}
    with torch.no_grad():
        out = model(pixel_values=pixel_values)
        runs = [("224x224", pixel_values, out)]
        for height, width in OTHER_SIZES:
            other = torch.randn(2, 3, height, width, generator=generator)
            runs.append((f"{height}x{width}", other, model(pixel_values=other)))
    for label, pv, ref in runs:
        got = session.run(None, {"pixel_values": pv.numpy()})
        assert got[0].shape == tuple(ref.last_hidden_state.shape), (label, got[0].shape)
        for i, key in enumerate(("last_hidden_state", "pooler_output")):
            diff = max_abs_diff(got[i], getattr(ref, key))
            checks[f"model.{key} ({label})"] = diff
            print(f"  {name} {key} {label}: max abs diff {diff:.3g}")
            if not diff < 1e-4:
                raise SystemExit(f"ONNX export differs from PyTorch: {name} {key} at {label}: {diff}")

    grid = (224 // 14) ** 2
    assert out.last_hidden_state.shape[1] == 1 + registers + grid
    save_npy(golden_dir / "pooler_output.npy", out.pooler_output.numpy())
    save_npy(golden_dir / "mean_patch.npy", out.last_hidden_state[:, 1 + registers:].mean(dim=1).numpy())
    write_json(golden_dir / "goldens.json", {
        "seed": SEED,
        "model_dir": f"test/fixtures/{folder}",
        "num_register_tokens": registers,
        "sequence_length": 1 + registers + grid,
        "images": images,
        "onnx_vs_torch_max_abs_diff": checks,
        "arrays": {
            "pooler_output.npy": "pooler_output: the CLS token after the final layer norm, one row per image",
            "mean_patch.npy": f"last_hidden_state[:, {1 + registers}:].mean(1): the patch tokens only (no CLS, no registers)",
        },
    })
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    proc = processor()
    images, pixel_values = [], []
    for i, entry in enumerate(image_manifest()):
        decoded = reference_decode(IMAGES_DIR / entry["file"])
        # channels_last stated: HF guesses channels-first for a 1x1 image and fails.
        pv = proc(images=decoded, return_tensors="pt", input_data_format="channels_last")["pixel_values"]
        images.append({"index": i, "file": entry["file"], "decoded_size": list(decoded.size),
                       "pixel_values_sha256": sha256(pv[0].numpy())})
        pixel_values.append(pv)
    pixel_values = torch.cat(pixel_values)
    for name in VARIANTS:
        build(name, pixel_values, images)
    print("dinov2-tiny, dinov2-registers-tiny: written")


if __name__ == "__main__":
    main()
