"""The Python reference for bench/siglip2.sh: SigLIP 2 image embedding the transformers way, on torch
CPU, batched, over a folder of images.

The vision model is built from the export's config.json with random weights (the same architecture
and cost as the ONNX graph `emb` runs; weights do not change speed), attention as transformers
picks it by default (sdpa):
  model_type "siglip"  (fixed resolution, e.g. so400m-patch16-256): the slow (PIL)
                       SiglipImageProcessor and SiglipVisionModel(pixel_values)
  model_type "siglip2" (NaFlex): the slow (PIL) Siglip2ImageProcessor with max_num_patches
                       (--max-num-patches, default the processor config's) and
                       Siglip2VisionModel(pixel_values, pixel_attention_mask, spatial_shapes)
Images are decoded as emb's reference is: PIL, EXIF transpose, convert("RGB"). Timing excludes
building the model. Prints one JSON line.

Usage: python bench_siglip2.py --model-dir DIR --images DIR [--batch-size 8] [--max-num-patches N] [--threads N]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from PIL import Image, ImageOps
from transformers import (Siglip2ImageProcessor, Siglip2VisionConfig, Siglip2VisionModel, SiglipImageProcessor,
                          SiglipVisionConfig, SiglipVisionModel)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-num-patches", type=int, default=0, help="NaFlex only (0: the processor config's)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    config = json.loads((args.model_dir / "config.json").read_text())
    naflex = config["model_type"] == "siglip2"
    if naflex:
        model = Siglip2VisionModel(Siglip2VisionConfig(**config["vision_config"])).eval()
        processor = Siglip2ImageProcessor.from_pretrained(args.model_dir)
        if args.max_num_patches:
            processor.max_num_patches = args.max_num_patches
    else:
        if args.max_num_patches:
            parser.error("--max-num-patches is for NaFlex models (model_type siglip2)")
        model = SiglipVisionModel(SiglipVisionConfig(**config["vision_config"])).eval()
        processor = SiglipImageProcessor.from_pretrained(args.model_dir)
    files = sorted(p for p in args.images.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".webp"})

    started = time.perf_counter()
    rows = 0
    with torch.inference_mode():
        for i in range(0, len(files), args.batch_size):
            images = [ImageOps.exif_transpose(Image.open(p)).convert("RGB") for p in files[i : i + args.batch_size]]
            inputs = processor(images=images, return_tensors="pt")
            if naflex:
                out = model(pixel_values=inputs["pixel_values"], pixel_attention_mask=inputs["pixel_attention_mask"],
                            spatial_shapes=inputs["spatial_shapes"])
            else:
                out = model(pixel_values=inputs["pixel_values"])
            rows += out.pooler_output.shape[0]
    seconds = time.perf_counter() - started
    result = {"images": rows, "seconds": seconds, "images_per_s": rows / seconds, "torch": torch.__version__,
              "threads": torch.get_num_threads(), "attn_implementation": model.config._attn_implementation,
              "pixel_values_shape": list(inputs["pixel_values"].shape)}
    if naflex:
        result["max_num_patches"] = processor.max_num_patches
        result["spatial_shape"] = inputs["spatial_shapes"][0].tolist()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
