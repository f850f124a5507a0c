"""Builds test/fixtures/goldens/siglip2-naflex/: transformers' Siglip2ImageProcessor (the slow one,
PIL resize), as google/siglip2-*-patch16-naflex checkpoints preprocess.

- grid.json: get_image_size_for_max_num_patches on a sweep of sizes, as (H, W) in patches per
  max_num_patches, and the SHA-256 of a denser sweep's results (too many to store).
- pixels/: pixel_values (float32 .npy), pixel_attention_mask and spatial_shapes of test images at
  small max_num_patches; at large ones only the grid, the mask sum and the SHA-256 of the resized
  uint8 image (the pixels follow from it as at the small ones).

Images are decoded as the HF reference does (exif_transpose, then RGB). The processor is told the
channels are last: it guesses otherwise, and takes an image 1 or 3 pixels high for channels-first.
Needs transformers, pillow and numpy only (no torch).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from transformers import Siglip2ImageProcessor
from transformers.models.siglip2.image_processing_siglip2 import get_image_size_for_max_num_patches

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGES_DIR = REPO_ROOT / "test" / "fixtures" / "images"
OUT = REPO_ROOT / "test" / "fixtures" / "goldens" / "siglip2-naflex"

PATCH = 16
GRID_MAX_PATCHES = [64, 256, 576, 784, 1024, 4096]
GRID_SIZES = sorted({*range(1, 2001, 37), 2, 3, 15, 16, 17, 31, 32, 33, 2400, 4000})
DENSE_SIZES = list(range(1, 2001, 7))

IMAGES = [
    "photo_500x375.jpg",
    "portrait_375x500.jpg",
    "panorama_2400x200.jpg",
    "tiny_1x1.png",
    "gray_256x256.png",
    "palette_200x200.gif",
    "exif_rot90_400x300.jpg",
]
# float32 pixel_values stored for these (max_num_patches: images), under 1.5 MB in all
PIXEL_CASES = {16: IMAGES, 64: ["photo_500x375.jpg", "portrait_375x500.jpg", "panorama_2400x200.jpg", "exif_rot90_400x300.jpg"]}
HASH_MAX_PATCHES = [256, 1024]


def grid(width: int, height: int, mnp: int) -> tuple[int, int]:
    h, w = get_image_size_for_max_num_patches(height, width, PATCH, mnp)
    return h // PATCH, w // PATCH


def dense_hash() -> str:
    # one line "w h mnp H W" per case, widths outer, then heights, then max_num_patches
    digest = hashlib.sha256()
    for w in DENSE_SIZES:
        for h in DENSE_SIZES:
            for mnp in GRID_MAX_PATCHES:
                gh, gw = grid(w, h, mnp)
                digest.update(f"{w} {h} {mnp} {gh} {gw}\n".encode())
    return digest.hexdigest()


def grid_golden() -> dict:
    tables = {}
    for mnp in GRID_MAX_PATCHES:
        # flat [H, W] in patches, widths outer, heights inner
        tables[str(mnp)] = [v for w in GRID_SIZES for h in GRID_SIZES for v in grid(w, h, mnp)]
    return {
        "patch_size": PATCH,
        "sizes": GRID_SIZES,
        "grids": tables,
        "dense": {"start": DENSE_SIZES[0], "stop": DENSE_SIZES[-1], "step": 7, "max_num_patches": GRID_MAX_PATCHES, "sha256": dense_hash()},
    }


def run(processor: Siglip2ImageProcessor, image: Image.Image, mnp: int):
    out = processor(image, max_num_patches=mnp, return_tensors="np", input_data_format="channels_last")
    return out["pixel_values"][0], out["pixel_attention_mask"][0], [int(v) for v in out["spatial_shapes"][0]]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    processor = Siglip2ImageProcessor(patch_size=PATCH)  # the naflex checkpoints' defaults: bilinear, 1/255, 0.5
    cases = []
    for name in IMAGES:
        image = ImageOps.exif_transpose(Image.open(IMAGES_DIR / name)).convert("RGB")
        source = hashlib.sha256(np.asarray(image).tobytes()).hexdigest()
        runs = []
        for mnp in sorted({*PIXEL_CASES, *HASH_MAX_PATCHES}):
            pixels, mask, (gh, gw) = run(processor, image, mnp)
            resized = image.resize((gw * PATCH, gh * PATCH), Image.Resampling.BILINEAR)
            entry = {
                "max_num_patches": mnp,
                "spatial_shape": [gh, gw],
                "mask_sum": int(mask.sum()),
                "resized_sha256": hashlib.sha256(np.asarray(resized).tobytes()).hexdigest(),
            }
            assert mask.dtype == np.int32 and list(mask) == [1] * (gh * gw) + [0] * (mnp - gh * gw)
            if name in PIXEL_CASES.get(mnp, []):
                assert pixels.dtype == np.float32 and pixels.shape == (mnp, PATCH * PATCH * 3)
                file = f"{Path(name).stem}.{mnp}.npy"
                np.save(OUT / file, np.ascontiguousarray(pixels))
                entry["pixel_values"] = file
            runs.append(entry)
        cases.append({"image": name, "width": image.width, "height": image.height, "source_sha256": source, "runs": runs})
    config = processor.to_dict()
    manifest = {
        "processor": {k: config[k] for k in ["resample", "rescale_factor", "image_mean", "image_std", "patch_size", "do_resize", "do_rescale", "do_normalize"]},
        "images": cases,
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    (OUT / "grid.json").write_text(json.dumps(grid_golden(), separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
