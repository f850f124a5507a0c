"""Full-size random-weight exports for benchmarks: same architecture and cost as the real models.

  siglip-so400m-patch14-384: vision and text towers (onnx/vision_model.onnx, onnx/text_model.onnx)
  siglip2-so400m-patch16-256: the vision tower (onnx/vision_model.onnx), fixed 256x256
  siglip2-so400m-patch16-naflex: the NaFlex vision tower (onnx/vision_model.onnx from
                             tools/export/naflex.py: any patch budget, 256 by default)
  Florence-2-large:          the four-part layout (vision_encoder, embed_tokens, encoder_model,
                             decoder_model_merged)

Weights live beside each graph in <name>.onnx_data. Output goes to models-full/ (git-ignored).
Usage: tools/reference/.venv/bin/python tools/reference/export_full.py [--only siglip|siglip2|siglip2-naflex|florence2] [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import torch
from PIL import Image, ImageOps
from transformers import (CLIPImageProcessor, Florence2Config, Florence2ForConditionalGeneration, GenerationConfig,
                          Siglip2Config, Siglip2ImageProcessor, Siglip2VisionConfig, Siglip2VisionModel, SiglipConfig,
                          SiglipImageProcessor, SiglipModel, SiglipVisionConfig, SiglipVisionModel)

import florence2_tiny
import siglip_tiny
from common import FIXTURES, IMAGES_DIR, REPO_ROOT, max_abs_diff, ort_session, seed_everything, write_json

sys.path.insert(0, str(REPO_ROOT / "tools" / "export"))

import naflex  # noqa: E402
from onnx_graphs import export  # noqa: E402

# google/siglip-so400m-patch14-384
SO400M = dict(
    text_config=dict(vocab_size=32000, hidden_size=1152, intermediate_size=4304, num_hidden_layers=27,
                     num_attention_heads=16, max_position_embeddings=64, pad_token_id=1, eos_token_id=1),
    vision_config=dict(image_size=384, patch_size=14, hidden_size=1152, intermediate_size=4304,
                       num_hidden_layers=27, num_attention_heads=16),
)

# google/siglip2-so400m-patch16-256 (SiglipModel) and google/siglip2-so400m-patch16-naflex
# (Siglip2Model): the same towers; the text side (Gemma tokenizer, 256,000 ids) is only described
# in config.json, and only the vision tower is built and exported.
SIGLIP2_TEXT = dict(vocab_size=256000, hidden_size=1152, intermediate_size=4304, num_hidden_layers=27,
                    num_attention_heads=16, max_position_embeddings=64, pad_token_id=0, eos_token_id=1, bos_token_id=2)
SIGLIP2_VISION = dict(patch_size=16, hidden_size=1152, intermediate_size=4304, num_hidden_layers=27,
                      num_attention_heads=16)

# microsoft/Florence-2-large(-ft)
FLORENCE2_LARGE = dict(
    vision_config=dict(embed_dim=[256, 512, 1024, 2048], num_heads=[8, 16, 32, 64], num_groups=[8, 16, 32, 64],
                       depths=[1, 1, 9, 1], projection_dim=1024, window_size=12, drop_path_rate=0.0),
    text_config=dict(vocab_size=51289, d_model=1024, encoder_layers=12, decoder_layers=12, encoder_attention_heads=16,
                     decoder_attention_heads=16, encoder_ffn_dim=4096, decoder_ffn_dim=4096, max_position_embeddings=1024,
                     bos_token_id=0, pad_token_id=1, eos_token_id=2, decoder_start_token_id=2, forced_bos_token_id=0,
                     forced_eos_token_id=2, scale_embedding=False, dropout=0.0, attention_dropout=0.0,
                     activation_dropout=0.0),
)


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def export_siglip(out: Path) -> dict:
    started = time.time()
    model = SiglipModel(SiglipConfig(**SO400M)).eval()
    built = time.time()
    model.config.save_pretrained(out)
    SiglipImageProcessor(size={"height": 384, "width": 384}, resample=Image.BICUBIC, image_mean=[0.5] * 3,
                         image_std=[0.5] * 3).save_pretrained(out)
    # Benchmarks need a tokenizer; the tiny one's ids (< 1,000) are valid for the 32,000-token vocabulary.
    for name in ("spiece.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(FIXTURES / "siglip-tiny" / name, out / name)
    pixels = torch.zeros(1, 3, 384, 384)
    ids = torch.ones(1, 64, dtype=torch.long)
    siglip_tiny.export_model(model, out, pixels, ids, external_data=True, combined=False)
    exported = time.time()
    # One random input per tower, ONNX Runtime against PyTorch.
    pixels = torch.rand(1, 3, 384, 384) * 2 - 1
    ids = torch.randint(3, 32000, (1, 64))
    check = {
        "vision_model.pooler_output": max_abs_diff(
            ort_session(out / "onnx" / "vision_model.onnx").run(None, {"pixel_values": pixels.numpy()})[1],
            model.vision_model(pixel_values=pixels).pooler_output),
        "text_model.pooler_output": max_abs_diff(
            ort_session(out / "onnx" / "text_model.onnx").run(None, {"input_ids": ids.numpy()})[1],
            model.text_model(input_ids=ids).pooler_output),
    }
    return {"build_s": round(built - started, 1), "export_s": round(exported - built, 1),
            "onnx_vs_torch_max_abs_diff": check}


def reference_image() -> Image.Image:
    return ImageOps.exif_transpose(Image.open(IMAGES_DIR / "photo_500x375.jpg")).convert("RGB")


def export_siglip2(out: Path) -> dict:
    """Fixed-resolution SigLIP 2 so400m at 256x256: the vision tower only."""
    started = time.time()
    config = SiglipConfig(text_config=SIGLIP2_TEXT, vision_config=dict(image_size=256, **SIGLIP2_VISION))
    model = SiglipVisionModel(SiglipVisionConfig(**config.vision_config.to_dict())).eval()
    built = time.time()
    config.save_pretrained(out)
    processor = SiglipImageProcessor(size={"height": 256, "width": 256}, resample=Image.BILINEAR, image_mean=[0.5] * 3,
                                     image_std=[0.5] * 3)
    processor.save_pretrained(out)
    export(siglip_tiny.VisionTower(model), (torch.zeros(1, 3, 256, 256),), out / "onnx" / "vision_model.onnx",
           ["pixel_values"], ["last_hidden_state", "pooler_output"],
           {"pixel_values": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"}, "pooler_output": {0: "batch_size"}},
           external_data=True)
    exported = time.time()
    # One real image through the processor, ONNX Runtime against PyTorch.
    pixels = processor(images=reference_image(), return_tensors="pt")["pixel_values"]
    check = {"vision_model.pooler_output (photo_500x375.jpg)": max_abs_diff(
        ort_session(out / "onnx" / "vision_model.onnx").run(None, {"pixel_values": pixels.numpy()})[1],
        model(pixel_values=pixels).pooler_output)}
    return {"build_s": round(built - started, 1), "export_s": round(exported - built, 1),
            "onnx_vs_torch_max_abs_diff": check}


def export_siglip2_naflex(out: Path) -> dict:
    """SigLIP 2 so400m NaFlex (16x16 position grid, 256 patches by default): the vision tower only."""
    started = time.time()
    config = Siglip2Config(text_config=SIGLIP2_TEXT, vision_config=dict(num_patches=256, **SIGLIP2_VISION))
    model = Siglip2VisionModel(Siglip2VisionConfig(**config.vision_config.to_dict())).eval()
    built = time.time()
    config.save_pretrained(out)
    processor = Siglip2ImageProcessor(max_num_patches=256, patch_size=16)
    processor.save_pretrained(out)
    image = reference_image()

    def item(picture: Image.Image, budget: int) -> dict:
        got = processor(images=picture, max_num_patches=budget, return_tensors="pt")
        return {"pixel_values": got["pixel_values"].to(torch.float32),
                "pixel_attention_mask": got["pixel_attention_mask"].to(torch.int64),
                "spatial_shapes": got["spatial_shapes"].to(torch.int64)}

    portrait = ImageOps.exif_transpose(Image.open(IMAGES_DIR / "portrait_375x500.jpg")).convert("RGB")
    sample = naflex.collate([item(image, 256), item(portrait, 256)])
    naflex.export_naflex(model, out / "onnx" / "vision_model.onnx", sample, external_data=True)
    exported = time.time()
    # One real image at both benchmarked budgets, ONNX Runtime against PyTorch (sdpa, as built).
    session = ort_session(out / "onnx" / "vision_model.onnx")
    check = naflex.check_naflex(model, session, {
        f"photo_500x375.jpg @{budget}": naflex.collate([item(image, budget)], budget) for budget in (256, 1024)},
        tolerance=1e-3)
    return {"build_s": round(built - started, 1), "export_s": round(exported - built, 1),
            "onnx_vs_torch_max_abs_diff": check}


def export_florence2(out: Path) -> dict:
    started = time.time()
    config = Florence2Config(**FLORENCE2_LARGE)
    config._attn_implementation = "eager"
    model = Florence2ForConditionalGeneration(config).eval()
    built = time.time()
    model.config.save_pretrained(out)
    GenerationConfig(**florence2_tiny.GENERATION).save_pretrained(out)
    CLIPImageProcessor(size={"height": 768, "width": 768}, resample=Image.BICUBIC, do_center_crop=False,
                       image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]).save_pretrained(out)
    for name in ("tokenizer.json", "tokenizer_config.json", "processor_config.json"):
        shutil.copy(FIXTURES / "florence2-tiny" / name, out / name)
    pixels = torch.zeros(1, 3, 768, 768)
    ids = torch.tensor([[0, 2264, 473, 5, 2274, 6190, 116, 2]])
    florence2_tiny.export_model(model, pixels, ids, out, external_data=True)
    exported = time.time()
    pixels = torch.rand(1, 3, 768, 768) * 4 - 2
    features = model.get_image_features(pixels)
    inputs_embeds = torch.cat([features, model.get_input_embeddings()(ids)], dim=1)
    mask = torch.ones(inputs_embeds.shape[:2], dtype=torch.long)
    hidden = model.get_encoder()(inputs_embeds=inputs_embeds, attention_mask=mask).last_hidden_state
    start = model.get_input_embeddings()(torch.tensor([[2]]))
    logits = model.lm_head(model.get_decoder()(inputs_embeds=start, encoder_hidden_states=hidden,
                                               encoder_attention_mask=mask).last_hidden_state)
    layers, heads = FLORENCE2_LARGE["text_config"]["decoder_layers"], FLORENCE2_LARGE["text_config"]["decoder_attention_heads"]
    empty = {name: torch.zeros(1, heads, 0, 1024 // heads).numpy() for name in florence2_tiny.kv_names("past_key_values", layers)}
    onnx_dir = out / "onnx"
    check = {
        "vision_encoder.image_features": max_abs_diff(
            ort_session(onnx_dir / "vision_encoder.onnx").run(None, {"pixel_values": pixels.numpy()})[0], features),
        "encoder_model.last_hidden_state": max_abs_diff(
            ort_session(onnx_dir / "encoder_model.onnx").run(
                None, {"inputs_embeds": inputs_embeds.numpy(), "attention_mask": mask.numpy()})[0], hidden),
        "decoder_model_merged.first_step_logits": max_abs_diff(
            ort_session(onnx_dir / "decoder_model_merged.onnx").run(None, {
                "inputs_embeds": start.numpy(), "encoder_hidden_states": hidden.numpy(),
                "encoder_attention_mask": mask.numpy(), "use_cache_branch": torch.tensor([False]).numpy(), **empty})[0],
            logits),
    }
    return {"build_s": round(built - started, 1), "export_s": round(exported - built, 1),
            "onnx_vs_torch_max_abs_diff": check}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["siglip", "siglip2", "siglip2-naflex", "florence2"])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "models-full")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    jobs = {"siglip": ("siglip-so400m-patch14-384-random", export_siglip),
            "siglip2": ("siglip2-so400m-patch16-256-random", export_siglip2),
            "siglip2-naflex": ("siglip2-so400m-patch16-naflex-random", export_siglip2_naflex),
            "florence2": ("florence2-large-random", export_florence2)}
    report = {}
    for key, (name, job) in jobs.items():
        if args.only and args.only != key:
            continue
        seed_everything()
        out = args.out / name
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        timings = job(out)
        files = {str(p.relative_to(out)): p.stat().st_size for p in sorted(out.rglob("*.onnx*"))}
        report[name] = {**timings, "total_bytes": dir_size(out), "onnx_files": files}
        print(json.dumps({name: report[name]}, indent=1), flush=True)
    # Kept across --only runs: each run replaces its own entries.
    previous = args.out / "export_report.json"
    write_json(previous, {**(json.loads(previous.read_text()) if previous.exists() else {}), **report})


if __name__ == "__main__":
    main()
