"""Builds test/fixtures/goldens/resample/: PIL's bicubic resize (Image.resize(..., BICUBIC), what
the HF image processors call) of images chosen to reach every path of resample.ts and its
WebAssembly passes: rows narrower than one 16-byte vector, widths that are no multiple of it,
only a horizontal or only a vertical pass, strong shrinking (wide kernels) and enlarging, noise
of 0s and 255s whose cubic overshoot must clip, and a source larger than the memory the kernel
keeps between images.

Small sources are stored as PNG beside their results. The large one is a formula, written out
again in the test: ((x * 7 + y * 3 + c * 85) ^ ((x * y) >> 6)) & 255 for pixel (x, y), channel c.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from common import FIXTURES, SEED, write_json

OUT = FIXTURES / "goldens" / "resample"


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
    write_json(OUT / "manifest.json", {"cases": cases})


if __name__ == "__main__":
    main()
