"""Builds test/fixtures/goldens/clip-dinov2/: transformers' CLIPImageProcessor (openai/clip-vit-*)
and BitImageProcessor as facebook/dinov2-* configure it: resize the shortest edge (PIL bicubic),
center crop, rescale, normalise. Slow processors only (the fast ones resize with torchvision).

- manifest.json: per setting and test image, the resized size, the crop offsets, the SHA-256 of
  the resized and of the cropped uint8 image and of pixel_values (float32); full pixel_values
  (.npy) for a few.
- sizes.json: get_resize_output_image_size (shortest edge, default_to_square=False) on a sweep,
  listed, and as the SHA-256 of a denser sweep.

Images are decoded as the HF reference does (exif_transpose, then RGB). The processors are told
the channels are last: they guess otherwise, and take an image 1 or 3 pixels high for
channels-first. Needs transformers, pillow and numpy only (no torch).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from transformers import BitImageProcessor, CLIPImageProcessor
from transformers.image_transforms import get_resize_output_image_size
from transformers.image_utils import ChannelDimension

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGES_DIR = REPO_ROOT / "test" / "fixtures" / "images"
OUT = REPO_ROOT / "test" / "fixtures" / "goldens" / "clip-dinov2"
LAST = ChannelDimension.LAST

IMAGES = [
    "photo_500x375.jpg",
    "portrait_375x500.jpg",
    "panorama_2400x200.jpg",
    "tiny_1x1.png",
    "gray_256x256.png",
    "palette_200x200.gif",
    "exif_rot90_400x300.jpg",
]

# the hub repositories' preprocessor_config.json, as published
SETTINGS = {
    # openai/clip-vit-base-patch32 (legacy integer sizes)
    "clip": (CLIPImageProcessor, {
        "crop_size": 224, "do_center_crop": True, "do_normalize": True, "do_resize": True,
        "feature_extractor_type": "CLIPFeatureExtractor",
        "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
        "resample": 3, "size": 224,
    }),
    # facebook/dinov2-small
    "dinov2": (BitImageProcessor, {
        "crop_size": {"height": 224, "width": 224}, "do_center_crop": True, "do_convert_rgb": True,
        "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.485, 0.456, 0.406],
        "image_processor_type": "BitImageProcessor", "image_std": [0.229, 0.224, 0.225], "resample": 3,
        "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 256},
    }),
    # not a real checkpoint: a crop larger than the resized image on one side, so it pads
    "pad": (BitImageProcessor, {
        "crop_size": {"height": 81, "width": 100}, "image_processor_type": "BitImageProcessor",
        "resample": 2, "size": {"shortest_edge": 64},
    }),
    # no crop: pixel_values are the whole resized image
    "nocrop": (CLIPImageProcessor, {"do_center_crop": False, "size": {"shortest_edge": 24}, "resample": 3}),
}
# float32 pixel_values stored for these (setting: images), under 1.5 MB in all
PIXEL_CASES = {"clip": ["photo_500x375.jpg"], "dinov2": ["exif_rot90_400x300.jpg"], "pad": ["panorama_2400x200.jpg"], "nocrop": ["portrait_375x500.jpg"]}

SWEEP_SIZES = sorted({*range(1, 3001, 97), 2, 3, 7, 223, 224, 225, 255, 256, 257, 375, 500, 518, 2400})
SWEEP_EDGES = [1, 224, 256, 336, 518]
DENSE = range(1, 2001, 7)


def sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def out_size(width: int, height: int, edge: int) -> tuple[int, int]:
    h, w = get_resize_output_image_size(np.zeros((height, width, 3), np.uint8), edge, default_to_square=False, input_data_format=LAST)
    return w, h


def sizes_golden() -> dict:
    table = {str(e): [v for w in SWEEP_SIZES for h in SWEEP_SIZES for v in out_size(w, h, e)] for e in SWEEP_EDGES}
    digest = hashlib.sha256()
    # one line "w h edge W H" per case, widths outer, then heights, then edges
    for w in DENSE:
        for h in DENSE:
            for e in SWEEP_EDGES:
                ow, oh = out_size(w, h, e)
                digest.update(f"{w} {h} {e} {ow} {oh}\n".encode())
    return {
        "sizes": SWEEP_SIZES,
        "shortest_edges": SWEEP_EDGES,
        "resized": table,
        "dense": {"start": DENSE.start, "stop": DENSE[-1], "step": DENSE.step, "shortest_edges": SWEEP_EDGES, "sha256": digest.hexdigest()},
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    settings = {}
    for key, (cls, config) in SETTINGS.items():
        processor = cls.from_dict(config)
        runs = []
        for name in IMAGES:
            image = ImageOps.exif_transpose(Image.open(IMAGES_DIR / name)).convert("RGB")
            rgb = np.asarray(image)
            pixels = processor(image, return_tensors="np", input_data_format="channels_last")["pixel_values"][0]
            assert pixels.dtype == np.float32
            resized = processor.resize(rgb, size=processor.size, resample=processor.resample, input_data_format=LAST)
            rh, rw = resized.shape[:2]
            entry = {"image": name, "width": image.width, "height": image.height, "source_sha256": sha(rgb), "resized": [rw, rh], "resized_sha256": sha(resized)}
            if processor.do_center_crop:
                crop = processor.center_crop(resized, size=processor.crop_size, input_data_format=LAST)
                ch, cw = processor.crop_size["height"], processor.crop_size["width"]
                assert crop.shape == (ch, cw, 3) and crop.dtype == np.uint8
                # center_crop's offsets in the resized image (negative: padded with zeros)
                entry["crop_offset"] = [(rw - cw) // 2, (rh - ch) // 2]
                entry["cropped_sha256"] = sha(crop)
            else:
                crop = resized
            # pixel_values are the crop rescaled then normalised, channels first
            again = processor.normalize(processor.rescale(crop, processor.rescale_factor, input_data_format=LAST), processor.image_mean, processor.image_std, input_data_format=LAST)
            assert np.array_equal(again.transpose(2, 0, 1), pixels)
            entry["pixel_values_shape"] = list(pixels.shape)
            entry["pixel_values_sha256"] = sha(pixels)
            if name in PIXEL_CASES.get(key, []):
                file = f"{key}.{Path(name).stem}.npy"
                np.save(OUT / file, np.ascontiguousarray(pixels))
                entry["pixel_values"] = file
            runs.append(entry)
        settings[key] = {"preprocessor_config": config, "runs": runs}
    (OUT / "manifest.json").write_text(json.dumps({"settings": settings}, indent=1) + "\n")
    (OUT / "sizes.json").write_text(json.dumps(sizes_golden(), separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
