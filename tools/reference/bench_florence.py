"""The Python reference for `emb florence`'s benchmark: HF Florence2Processor (slow, PIL
CLIPImageProcessor + BART tokenizer) and Florence2ForConditionalGeneration.generate() on torch CPU
(or CUDA with --device cuda; preprocessing and post-processing stay on the CPU), batched, over a
folder of images.

The model is built from the export's config.json with random weights and eager attention, as
export_full.py and florence2_tiny.py export it: the same architecture and cost as the ONNX graphs
`emb` runs (weights do not change speed). Every image generates exactly --max-new-tokens tokens
(min_new_tokens = max_new_tokens), so both sides do the same work whatever the weights predict.
The image features and the encoder run first and generate() is given encoder_outputs, as
florence2_tiny.py does (the native class mishandles inputs_embeds in generate()).
Timing covers decoding, preprocessing, vision encoder, encoder and generation, not model building.
Prints one JSON line.

Usage: python bench_florence.py --model-dir DIR --images DIR [--task "<CAPTION>"] [--batch-size 4]
         [--max-new-tokens 20] [--num-beams 3] [--threads N] [--device cpu|cuda]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import transformers
from PIL import Image, ImageOps
from transformers import (
    AutoTokenizer,
    CLIPImageProcessor,
    Florence2Config,
    Florence2ForConditionalGeneration,
    Florence2Processor,
    GenerationConfig,
)

NUM_IMAGE_TOKENS = 577  # 24x24 patches after four strided stages, plus one pooled token


def load_processor(model_dir: Path) -> Florence2Processor:
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    # The native processor expands an <image> placeholder that the hub tokenizer predates (as in
    # florence2_tiny.load_processor); the placeholders are removed before the model sees the ids.
    tokenizer.add_special_tokens({"additional_special_tokens": ["<image>"]}, replace_additional_special_tokens=False)
    tokenizer.image_token = "<image>"
    tokenizer.image_token_id = tokenizer.convert_tokens_to_ids("<image>")
    image_processor = CLIPImageProcessor.from_pretrained(model_dir)
    image_processor.image_seq_length = NUM_IMAGE_TOKENS
    post = json.loads((model_dir / "processor_config.json").read_text()).get("post_processor_config")
    return Florence2Processor(image_processor=image_processor, tokenizer=tokenizer, post_processor_config=post)


def build_model(model_dir: Path) -> Florence2ForConditionalGeneration:
    config = Florence2Config.from_pretrained(model_dir)
    config._attn_implementation = "eager"
    return Florence2ForConditionalGeneration(config).eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--task", default="<CAPTION>")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=20)
    parser.add_argument("--num-beams", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: this torch sees no CUDA GPU (torch.cuda.is_available() is False)")
    # The tokenizer's "Truncation was not explicitly activated" notice: prompts are far shorter.
    transformers.logging.set_verbosity_error()

    model = build_model(args.model_dir).to(args.device)
    processor = load_processor(args.model_dir)
    image_token_id = processor.tokenizer.image_token_id
    generation = GenerationConfig.from_pretrained(args.model_dir)
    generation.update(num_beams=args.num_beams, no_repeat_ngram_size=3, early_stopping=True,
                      max_new_tokens=args.max_new_tokens, min_new_tokens=args.max_new_tokens)
    files = sorted(p for p in args.images.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".webp"})

    started = time.perf_counter()
    rows = 0
    new_tokens = []
    with torch.inference_mode():
        for i in range(0, len(files), args.batch_size):
            images = [ImageOps.exif_transpose(Image.open(p)).convert("RGB") for p in files[i : i + args.batch_size]]
            inputs = processor(text=[args.task] * len(images), images=images, return_tensors="pt")
            ids = inputs["input_ids"]
            # <s> prompt </s> per row (every row has the same prompt, so no padding).
            prompt = ids[ids != image_token_id].view(ids.shape[0], -1).to(args.device)
            features = model.get_image_features(inputs["pixel_values"].to(args.device))
            inputs_embeds = torch.cat([features, model.get_input_embeddings()(prompt)], dim=1)
            mask = torch.ones(inputs_embeds.shape[:2], dtype=torch.long, device=args.device)
            encoded = model.get_encoder()(inputs_embeds=inputs_embeds, attention_mask=mask)
            sequences = model.generate(encoder_outputs=encoded, attention_mask=mask, generation_config=generation).cpu()
            texts = processor.batch_decode(sequences, skip_special_tokens=False)
            for text, image in zip(texts, images):
                processor.post_process_generation(text, task=args.task, image_size=image.size)
            rows += sequences.shape[0]
            # New tokens up to and including the first </s> after the decoder start token.
            for row in sequences.tolist():
                ends = [j for j, t in enumerate(row) if j > 0 and t == generation.eos_token_id]
                new_tokens.append(ends[0] if ends else len(row) - 1)
    if args.device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    print(json.dumps({"images": rows, "seconds": seconds, "images_per_s": rows / seconds,
                      "task": args.task, "device": args.device, "batch_size": args.batch_size, "num_beams": args.num_beams,
                      "new_tokens_per_image": sorted(set(new_tokens)),
                      "torch": torch.__version__, "transformers": transformers.__version__,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
