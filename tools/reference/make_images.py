"""Builds the committed test images: the formats and shapes users throw at an embedding tool.

Content is smooth gradients and shapes (not noise) so JPEGs stay small and resizing is
exercised on edges as well as flat areas.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from common import IMAGES_DIR, SEED, write_json


def scene(width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [
            127 + 120 * np.sin(x / max(width, 1) * np.pi * rng.uniform(1, 4) + rng.uniform(0, 6)),
            127 + 120 * np.cos(y / max(height, 1) * np.pi * rng.uniform(1, 4) + rng.uniform(0, 6)),
            127 + 120 * np.sin((x + y) / max(width + height, 1) * np.pi * rng.uniform(2, 6)),
        ],
        axis=-1,
    )
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x0, y0 = rng.integers(0, max(width, 2)), rng.integers(0, max(height, 2))
        x1, y1 = x0 + rng.integers(1, max(width // 3, 2)), y0 + rng.integers(1, max(height // 3, 2))
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse([x0, y0, x1, y1], fill=color)
        else:
            draw.rectangle([x0, y0, x1, y1], fill=color, outline=(0, 0, 0))
    return img


def exif_rotated_jpeg(img: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def main() -> None:
    IMAGES_DIR.mkdir(parents=True, exist_ok=True)
    entries = []

    def add(name: str, data: bytes, note: str) -> None:
        (IMAGES_DIR / name).write_bytes(data)
        entries.append({"file": name, "note": note})

    def encode(img: Image.Image, fmt: str, **kw) -> bytes:
        out = io.BytesIO()
        img.save(out, fmt, **kw)
        return out.getvalue()

    add("photo_500x375.jpg", encode(scene(500, 375, SEED + 1), "JPEG", quality=90), "ImageNet-sized landscape JPEG")
    add("portrait_375x500.jpg", encode(scene(375, 500, SEED + 2), "JPEG", quality=90), "portrait JPEG")
    add("large_1280x720.jpg", encode(scene(1280, 720, SEED + 3), "JPEG", quality=85), "larger than the model input")
    add("small_64x48.jpg", encode(scene(64, 48, SEED + 4), "JPEG", quality=95), "smaller than the model input (upscaled)")
    add("panorama_2400x200.jpg", encode(scene(2400, 200, SEED + 5), "JPEG", quality=85), "very wide panorama")
    add("tiny_1x1.png", encode(Image.new("RGB", (1, 1), (200, 30, 90)), "PNG"), "a single pixel")

    rgba = scene(300, 200, SEED + 6).convert("RGBA")
    alpha = np.zeros((200, 300), np.uint8)
    alpha[:, :] = np.linspace(0, 255, 300, dtype=np.uint8)[None, :]
    alpha[50:150, 100:200] = 0
    rgba.putalpha(Image.fromarray(alpha, "L"))
    add("alpha_300x200.png", encode(rgba, "PNG"), "RGBA PNG with transparent regions")

    add("gray_256x256.png", encode(scene(256, 256, SEED + 7).convert("L"), "PNG"), "8-bit grayscale PNG")
    add("gray_320x240.jpg", encode(scene(320, 240, SEED + 8).convert("L"), "JPEG", quality=90), "grayscale JPEG")

    y, x = np.mgrid[0:150, 0:200]
    sixteen = ((x * 65535 // 199) ^ (y * 97)) & 0xFFFF
    img16 = Image.fromarray(sixteen.astype(np.uint16), "I;16")
    add("gray16_200x150.png", encode(img16, "PNG"), "16-bit grayscale PNG")

    add("cmyk_320x240.jpg", encode(scene(320, 240, SEED + 9).convert("CMYK"), "JPEG", quality=90), "CMYK JPEG")
    add("exif_rot90_400x300.jpg", exif_rotated_jpeg(scene(400, 300, SEED + 10), 6), "EXIF orientation 6 (rotate 90 CW to display)")
    add("exif_rot180_240x160.jpg", exif_rotated_jpeg(scene(240, 160, SEED + 11), 3), "EXIF orientation 3 (rotate 180)")
    add("photo_320x240.webp", encode(scene(320, 240, SEED + 12), "WEBP", quality=90), "lossy WebP")
    add("palette_200x200.gif", encode(scene(200, 200, SEED + 13).convert("P", palette=Image.ADAPTIVE, colors=64), "GIF"), "palette GIF")

    write_json(IMAGES_DIR / "manifest.json", {"seed": SEED, "images": entries})
    print(f"wrote {len(entries)} images to {IMAGES_DIR}")


if __name__ == "__main__":
    main()
