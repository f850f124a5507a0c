"""Builds test/fixtures/goldens/resample/: PIL's bicubic resize (Image.resize(..., BICUBIC), what
the HF image processors call) of images chosen to reach every path of resample.ts and its
WebAssembly passes: rows narrower than one 16-byte vector, widths that are no multiple of it,
only a horizontal or only a vertical pass, strong shrinking (wide kernels) and enlarging, noise
of 0s and 255s whose cubic overshoot must clip, and a source larger than the memory the kernel
keeps between images.

Small sources are stored as PNG beside their results. The large one is a formula, written out
again in the test: ((x * 7 + y * 3 + c * 85) ^ ((x * y) >> 6)) & 255 for pixel (x, y), channel c.

Then every filter a preprocessor_config.json may name (NEAREST, BOX, BILINEAR, HAMMING, BICUBIC,
LANCZOS) on those sources and on test images, enlarging and shrinking, by odd and integer
factors, to and from 1 pixel: stored as the SHA-256 of the result's RGB bytes (manifest
"filters"), with the SHA-256 of the source as PIL decodes it, so a decoder difference is told
apart from a resize one.
"""
from __future__ import annotations

import hashlib

import numpy as np
from PIL import Image, ImageOps

from common import FIXTURES, IMAGES_DIR, SEED, write_json

OUT = FIXTURES / "goldens" / "resample"

FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "box": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "hamming": Image.Resampling.HAMMING,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}

# source (stored here as name.in.png, or a test image), output sizes (width, height)
FILTER_CASES = [
    ("tiny_enlarge_shrink", [(2, 7), (1, 1), (3, 5)]),
    ("single_column", [(5, 9), (1, 13)]),
    ("odd_enlarge", [(150, 130), (11, 7)]),
    ("binary_shrink", [(97, 61), (100, 40), (7, 3)]),  # 300x200 to 100x40: factors 3 and 5
    ("binary_enlarge", [(200, 150)]),
    ("horizontal_only", [(384, 50), (37, 50)]),
    ("vertical_only", [(50, 384), (50, 33)]),
    ("images/large_1280x720.jpg", [(384, 384), (224, 224), (97, 55), (1, 1)]),
    ("images/small_64x48.jpg", [(384, 384), (131, 29)]),
    ("images/tiny_1x1.png", [(7, 5)]),
    ("images/panorama_2400x200.jpg", [(384, 384), (1, 200)]),
    ("images/gray_256x256.png", [(100, 100), (256, 1)]),
]


def pattern(width: int, height: int) -> np.ndarray:
    y, x, c = np.meshgrid(np.arange(height), np.arange(width), np.arange(3), indexing="ij")
    return (((x * 7 + y * 3 + c * 85) ^ ((x * y) >> 6)) & 255).astype(np.uint8)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    uniform = lambda w, h: rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    binary = lambda w, h: (rng.integers(0, 2, (h, w, 3)) * 255).astype(np.uint8)
    stored = [
        # name, source, output size
        ("tiny_enlarge_shrink", uniform(5, 3), (2, 7)),
        ("odd_enlarge", uniform(37, 23), (150, 130)),
        ("binary_enlarge", binary(97, 61), (200, 150)),
        ("binary_shrink", binary(300, 200), (97, 61)),
        ("horizontal_only", uniform(120, 50), (384, 50)),
        ("vertical_only", uniform(50, 100), (50, 384)),
        ("single_column", uniform(1, 40), (5, 9)),
    ]
    cases = []
    for name, pixels, (width, height) in stored:
        source = Image.fromarray(pixels)
        source.save(OUT / f"{name}.in.png")
        source.resize((width, height), Image.BICUBIC).save(OUT / f"{name}.out.png")
        cases.append({"name": name, "source": f"{name}.in.png", "width": width, "height": height, "expected": f"{name}.out.png"})
    # 6000 x 4000 x 3 bytes is over the 64 MiB the kernel keeps between images
    large = Image.fromarray(pattern(6000, 4000))
    large.resize((96, 64), Image.BICUBIC).save(OUT / "pattern_large.out.png")
    cases.append({"name": "pattern_large", "pattern": [6000, 4000], "width": 96, "height": 64, "expected": "pattern_large.out.png"})
    write_json(OUT / "manifest.json", {"cases": cases, "filters": filter_cases()})


def sha256(image: Image.Image) -> str:
    return hashlib.sha256(np.asarray(image.convert("RGB")).tobytes()).hexdigest()


def filter_cases() -> list[dict]:
    cases = []
    for source, sizes in FILTER_CASES:
        if source.startswith("images/"):
            # as the HF reference loads an image
            image = ImageOps.exif_transpose(Image.open(IMAGES_DIR / source.removeprefix("images/"))).convert("RGB")
        else:
            image = Image.open(OUT / f"{source}.in.png").convert("RGB")
        outputs = []
        for width, height in sizes:
            hashes = {name: sha256(image.resize((width, height), f)) for name, f in FILTERS.items()}
            outputs.append({"width": width, "height": height, "sha256": hashes})
        cases.append({"source": source, "width": image.width, "height": image.height, "sha256": sha256(image), "outputs": outputs})
    return cases


if __name__ == "__main__":
    main()
