"""Runs emb (./bin/run.js, built with `npm ci`) on an export and compares with PyTorch on the checkpoint.

SigLIP: `emb embed image` and `emb embed text` against the PyTorch towers' pooler_output (images
decoded as a Python user does, captions through the checkpoint's tokenizer with
padding="max_length"; lowercased first for SigLIP 2, as its model card and emb do). SigLIP 2
NaFlex: `emb embed image` (the processor's max_num_patches) and `emb embed image --max-num-patches
64` against get_image_features of each image alone as Siglip2ImageProcessor returns it at that
budget, and `emb embed text` against get_text_features of
GemmaTokenizerFast(text.lower(), padding="max_length", max_length=64, truncation=True). CLIP: `emb embed image` and `emb embed text` against get_image_features and
get_text_features (CLIPTokenizerFast, padding="max_length", max_length=77, with the attention
mask). DINOv2: `emb embed image` (CLS) against pooler_output and `emb embed image --pooling mean`
against last_hidden_state averaged over the patch tokens (register tokens left out). Embeddings
must agree to --tolerance (max abs difference) with a cosine of at least 0.9999 per row. Florence-2: `emb florence` with the checkpoint's generation settings (beam
search) and greedy (`--num-beams 1 --no-repeat-ngram-size 0`) against PyTorch's generate() with
the same settings, for <CAPTION> and <OD>: the generated text must be equal.

Usage: python tools/export/emb_parity.py CHECKPOINT EXPORT --images DIR [--max-new-tokens 20] [--tolerance 1e-4]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(HERE), str(HERE.parent / "reference")]

import numpy as np  # noqa: E402
import torch  # noqa: E402

import export  # noqa: E402
import verify  # noqa: E402


def catalog(images: Path) -> dict[str, object]:
    """The folder's images as a Python user loads them, by resolved path."""
    return {str((images / name).resolve()): image for name, image in verify.load_images(images, 10**6)}


def emb(*args: str) -> None:
    subprocess.run(["node", str(REPO / "bin" / "run.js"), *args, "--no-progress"], check=True,
                   stdout=subprocess.DEVNULL)


MIN_COSINE = 0.9999


def compare(label: str, got: np.ndarray, want: np.ndarray, tolerance: float) -> bool:
    """Prints and judges one command's rows: max abs difference and the lowest per-row cosine."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        print(f"{label}: shape {got.shape}, PyTorch {want.shape}")
        return False
    diff = float(np.abs(got - want).max())
    cosine = float(((got * want).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))).min())
    ok = diff <= tolerance and cosine >= MIN_COSINE
    print(f"{label}: {len(got)} rows, max abs diff {diff:.3g}, lowest cosine {cosine:.9f}{'' if ok else '  FAIL'}")
    return ok


def embed_images(out: Path, images: Path, work: Path, name: str, *flags: str) -> tuple[list[dict], np.ndarray]:
    emb("embed", "image", str(images), "--model", str(out), "--out", str(work / name), *flags)
    index = [json.loads(line) for line in (work / name / "index.jsonl").read_text().splitlines()]
    return index, np.load(work / name / "embeddings.npy")


def image_files(images: Path) -> list[Path]:
    return sorted(p for p in images.rglob("*") if p.suffix.lower() in verify.IMAGE_EXTENSIONS)


def clip(model, out: Path, images: Path, tolerance: float, work: Path) -> bool:
    from transformers import AutoImageProcessor, CLIPTokenizerFast

    processor = AutoImageProcessor.from_pretrained(out, use_fast=False)
    loaded = catalog(images)
    index, got = embed_images(out, images, work, "image")
    want = []
    for row in index:
        pil = loaded[str(Path(row["path"]).resolve())]
        pixels = processor(images=pil, return_tensors="pt", input_data_format="channels_last")["pixel_values"]
        want.append(model.get_image_features(pixel_values=pixels)[0].numpy())
    ok = len(index) == len(image_files(images))
    print(f"emb embed image: {len(index)} of {len(image_files(images))} images")
    ok &= compare("emb embed image vs get_image_features", got[[r["row"] for r in index]], np.stack(want), tolerance)

    captions = work / "captions.txt"
    captions.write_text("\n".join(verify.CAPTIONS) + "\n")
    emb("embed", "text", "--file", str(captions), "--model", str(out), "--out", str(work / "text"))
    tokens = CLIPTokenizerFast.from_pretrained(out)(verify.CAPTIONS, padding="max_length", truncation=True,
                                                     max_length=model.config.text_config.max_position_embeddings,
                                                     return_tensors="pt")
    want = model.get_text_features(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]).numpy()
    return compare("emb embed text vs get_text_features", np.load(work / "text" / "embeddings.npy"), want, tolerance) and ok


def dinov2(model, out: Path, images: Path, tolerance: float, work: Path) -> bool:
    from transformers import AutoImageProcessor

    processor = AutoImageProcessor.from_pretrained(out, use_fast=False)
    loaded = catalog(images)
    skip = 1 + int(getattr(model.config, "num_register_tokens", 0))
    ok = True
    for pooling in ("cls", "mean"):
        index, got = embed_images(out, images, work, pooling, *(["--pooling", "mean"] if pooling == "mean" else []))
        ok &= len(index) == len(image_files(images))
        want = []
        for row in index:
            pil = loaded[str(Path(row["path"]).resolve())]
            pixels = processor(images=pil, return_tensors="pt", input_data_format="channels_last")["pixel_values"]
            result = model(pixel_values=pixels)
            want.append((result.pooler_output if pooling == "cls" else result.last_hidden_state[:, skip:].mean(1))[0].numpy())
        label = ("emb embed image vs pooler_output" if pooling == "cls" else
                 f"emb embed image --pooling mean vs last_hidden_state[:, {skip}:].mean(1)")
        print(f"{label.split(' vs ')[0]}: {len(index)} of {len(image_files(images))} images")
        ok &= compare(label, got[[r["row"] for r in index]], np.stack(want), tolerance)
    return ok


def siglip(model, out: Path, images: Path, tolerance: float, work: Path, lowercase: bool) -> bool:
    from transformers import AutoImageProcessor, AutoTokenizer

    files = sorted(p for p in images.rglob("*") if p.suffix.lower() in verify.IMAGE_EXTENSIONS)
    emb("embed", "image", str(images), "--model", str(out), "--out", str(work / "image"))
    index = [json.loads(line) for line in (work / "image" / "index.jsonl").read_text().splitlines()]
    got = np.load(work / "image" / "embeddings.npy")
    processor = AutoImageProcessor.from_pretrained(out, use_fast=False)
    loaded = catalog(images)
    want = []
    for row in index:
        pil = loaded[str(Path(row["path"]).resolve())]
        pixels = processor(images=pil, return_tensors="pt", input_data_format="channels_last")["pixel_values"]
        want.append(model.vision_model(pixel_values=pixels).pooler_output[0].numpy())
    print(f"emb embed image: {len(index)} of {len(files)} images")
    ok = len(index) == len(files)
    ok &= compare("emb embed image vs vision pooler_output", got[[r["row"] for r in index]], np.stack(want), tolerance)

    captions = work / "captions.txt"
    captions.write_text("\n".join(verify.CAPTIONS) + "\n")
    emb("embed", "text", "--file", str(captions), "--model", str(out), "--out", str(work / "text"))
    got = np.load(work / "text" / "embeddings.npy")
    tokenizer = AutoTokenizer.from_pretrained(out)
    # SigLIP 2's model card lowercases the text before tokenising, and emb does so for Gemma tokenizers.
    texts = [c.lower() for c in verify.CAPTIONS] if lowercase else verify.CAPTIONS
    ids = tokenizer(texts, padding="max_length", max_length=model.config.text_config.max_position_embeddings,
                    truncation=True, return_tensors="pt")["input_ids"]
    want = model.text_model(input_ids=ids).pooler_output.numpy()
    return compare("emb embed text vs text pooler_output", got, want, tolerance) and ok


def siglip2_naflex(model, out: Path, images: Path, tolerance: float, work: Path) -> bool:
    from transformers import Siglip2ImageProcessor

    processor = Siglip2ImageProcessor.from_pretrained(out)
    loaded = catalog(images)
    files = image_files(images)
    ok = True
    for budget in verify.naflex_budgets(processor):
        default = budget == int(processor.max_num_patches)
        flags = [] if default else ["--max-num-patches", str(budget)]
        index, got = embed_images(out, images, work, f"image-{budget}", *flags)
        want = [model.get_image_features(**verify.naflex_item(processor, loaded[str(Path(r["path"]).resolve())], budget))[0].numpy()
                for r in index]
        command = "emb embed image" + (f" (default, max_num_patches {budget})" if default else f" --max-num-patches {budget}")
        print(f"{command}: {len(index)} of {len(files)} images")
        ok &= len(index) == len(files)
        ok &= compare(f"{command} vs get_image_features", got[[r["row"] for r in index]], np.stack(want), tolerance)

    captions = work / "captions.txt"
    captions.write_text("\n".join(verify.CAPTIONS) + "\n")
    emb("embed", "text", "--file", str(captions), "--model", str(out), "--out", str(work / "text"))
    want = model.get_text_features(input_ids=verify.naflex_captions(out)).numpy()
    return compare("emb embed text vs get_text_features (lowercased, 64 tokens)", np.load(work / "text" / "embeddings.npy"),
                   want, tolerance) and ok


def florence2(model, out: Path, images: Path, max_new_tokens: int, work: Path) -> bool:
    from transformers import AutoImageProcessor, BartTokenizerFast, GenerationConfig
    from transformers.modeling_outputs import BaseModelOutput

    processor = AutoImageProcessor.from_pretrained(out, use_fast=False)
    tokenizer = BartTokenizerFast.from_pretrained(out)
    checkpoint = GenerationConfig.from_pretrained(out)
    greedy = GenerationConfig(**{**checkpoint.to_dict(), "num_beams": 1, "no_repeat_ngram_size": 0})
    embed = model.get_input_embeddings()
    ok = True
    loaded = catalog(images)
    for task, prompt in verify.FLORENCE2_TASKS.items():
        for label, config, flags in (("checkpoint settings", checkpoint, []),
                                     ("greedy", greedy, ["--num-beams", "1", "--no-repeat-ngram-size", "0"])):
            target = work / f"{task.strip('<>')}-{config.num_beams}"
            emb("florence", task, str(images), "--model", str(out), "--out", str(target),
                "--max-new-tokens", str(max_new_tokens), *flags)
            rows = [json.loads(line) for line in (target / "results.jsonl").read_text().splitlines()]
            model.generation_config = config
            equal = 0
            for row in rows:
                image = loaded[str(Path(row["path"]).resolve())]
                pixels = processor(images=image, return_tensors="pt", input_data_format="channels_last")["pixel_values"]
                ids = torch.tensor([tokenizer(prompt)["input_ids"]])
                inputs_embeds = torch.cat([model.get_image_features(pixels), embed(ids)], dim=1)
                mask = torch.ones(inputs_embeds.shape[:2], dtype=torch.long)
                hidden = model.get_encoder()(inputs_embeds=inputs_embeds, attention_mask=mask).last_hidden_state
                sequence = model.generate(encoder_outputs=BaseModelOutput(last_hidden_state=hidden), attention_mask=mask,
                                          generation_config=config, max_new_tokens=max_new_tokens)[0]
                want = tokenizer.decode(sequence, skip_special_tokens=False)
                equal += want == row["generated"]
                if want != row["generated"]:
                    print(f"  {row['path']}: emb {row['generated']!r}\n  {'':{len(row['path'])}}  PyTorch {want!r}")
            print(f"emb florence {task} ({label}): {equal} of {len(rows)} generations equal to PyTorch's")
            ok &= equal == len(rows)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("export", type=Path)
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--max-new-tokens", type=int, default=20)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    export.quiet()
    torch.set_grad_enabled(False)
    family, layout = export.detect(args.checkpoint, None)
    with tempfile.TemporaryDirectory() as tmp:
        if family == "florence2":
            model, _ = export.load_florence2(args.checkpoint, layout)
            ok = florence2(model, args.export, args.images, args.max_new_tokens, Path(tmp))
        elif family == "clip":
            model, _, _ = export.load_clip(args.checkpoint)
            ok = clip(model, args.export, args.images, args.tolerance, Path(tmp))
        elif family == "siglip2-naflex":
            ok = siglip2_naflex(export.load_siglip2_naflex(args.checkpoint), args.export, args.images, args.tolerance, Path(tmp))
        elif family == "dinov2":
            ok = dinov2(export.load_dinov2(args.checkpoint), args.export, args.images, args.tolerance, Path(tmp))
        else:
            ok = siglip(export.load_siglip(args.checkpoint), args.export, args.images, args.tolerance, Path(tmp),
                        lowercase=family == "siglip2")
    print("emb agrees with PyTorch" if ok else "emb DIFFERS from PyTorch")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
