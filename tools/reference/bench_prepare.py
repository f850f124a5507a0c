"""The Python reference for bench/prepare.sh: image preparation alone, on one thread. PIL decode,
EXIF transpose, convert("RGB"), then the model's slow (PIL) image processor to a torch tensor:
SiglipImageProcessor for SigLIP, CLIPImageProcessor (the image part of Florence2Processor) for
Florence-2, each read from the model folder's preprocessor_config.json.

Usage: OMP_NUM_THREADS=1 python bench_prepare.py --model-dir DIR --images LIST
Prints {"images_per_s": ..., "images": ...}.
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import torch
from PIL import Image, ImageOps
from transformers import AutoImageProcessor


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--images", type=Path, required=True, help="a file naming one image per line")
    args = parser.parse_args()
    torch.set_num_threads(1)
    # PIL's advice on palette images with transparency (some photo fixtures): not an error
    warnings.filterwarnings("ignore", message="Palette images with Transparency")
    processor = AutoImageProcessor.from_pretrained(args.model_dir, use_fast=False)
    files = [line for line in args.images.read_text().splitlines() if line]

    def prepare(path: str) -> torch.Tensor:
        with Image.open(path) as image:
            rgb = ImageOps.exif_transpose(image).convert("RGB")
        return processor(images=rgb, return_tensors="pt")["pixel_values"]

    for path in files[:8]:  # warm-up, as on emb's side
        prepare(path)
    start = time.perf_counter()
    for path in files:
        prepare(path)
    seconds = time.perf_counter() - start
    print(json.dumps({"images_per_s": len(files) / seconds, "images": len(files), "processor": type(processor).__name__}))


if __name__ == "__main__":
    main()
