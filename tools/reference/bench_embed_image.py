"""The Python reference for `emb embed image`'s benchmark: HF SiglipImageProcessor (PIL) and
SiglipVisionModel on torch CPU (or CUDA with --device cuda), batched, over a folder of images.

The model is built from the export's config.json with random weights: the same architecture and
cost as the ONNX graph `emb` runs (weights do not change speed). Preprocessing stays on the CPU
(PIL), as in the deployment emb replaces; each batch's embeddings are copied back to the CPU as
float32, as emb writes them. --dtype fp16 runs the model in float16 (as `emb --dtype fp16` runs the
_fp16 graph). Prints one JSON line.

Usage: python bench_embed_image.py --model-dir DIR --images DIR [--batch-size 16] [--threads N]
         [--device cpu|cuda] [--dtype fp32|fp16]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from PIL import Image, ImageOps
from transformers import SiglipImageProcessor, SiglipVisionConfig, SiglipVisionModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--dtype", choices=["fp32", "fp16"], default="fp32")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: this torch sees no CUDA GPU (torch.cuda.is_available() is False)")
    dtype = {"fp32": torch.float32, "fp16": torch.float16}[args.dtype]

    config = json.loads((args.model_dir / "config.json").read_text())
    model = SiglipVisionModel(SiglipVisionConfig(**config["vision_config"])).eval().to(args.device, dtype)
    processor = SiglipImageProcessor.from_pretrained(args.model_dir)
    files = sorted(p for p in args.images.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".webp"})

    started = time.perf_counter()
    rows = 0
    with torch.inference_mode():
        for i in range(0, len(files), args.batch_size):
            images = [ImageOps.exif_transpose(Image.open(p)).convert("RGB") for p in files[i : i + args.batch_size]]
            pixel_values = processor(images=images, return_tensors="pt")["pixel_values"].to(args.device, dtype)
            rows += model(pixel_values=pixel_values).pooler_output.float().cpu().shape[0]
    if args.device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    print(json.dumps({"images": rows, "seconds": seconds, "images_per_s": rows / seconds,
                      "device": args.device, "dtype": args.dtype, "torch": torch.__version__,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
