"""The Python reference for `emb embed text`'s benchmark: SiglipTokenizer with
padding="max_length" and SiglipTextModel on torch CPU (or CUDA with --device cuda), batched,
over a captions file.

The model is built from the export's config.json with random weights: the same architecture and
cost as the ONNX graph `emb` runs. Tokenising stays on the CPU; each batch's embeddings are copied
back to the CPU, as emb writes them. Prints one JSON line.

Usage: python bench_embed_text.py --model-dir DIR --captions FILE [--batch-size 64] [--device cpu|cuda]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from transformers import SiglipTextConfig, SiglipTextModel, SiglipTokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--captions", type=Path, required=True)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: this torch sees no CUDA GPU (torch.cuda.is_available() is False)")

    config = json.loads((args.model_dir / "config.json").read_text())
    model = SiglipTextModel(SiglipTextConfig(**config["text_config"])).eval().to(args.device)
    tokenizer = SiglipTokenizer.from_pretrained(args.model_dir)
    captions = args.captions.read_text().splitlines()

    started = time.perf_counter()
    rows = 0
    with torch.inference_mode():
        for i in range(0, len(captions), args.batch_size):
            batch = tokenizer(captions[i : i + args.batch_size], padding="max_length", truncation=True,
                              max_length=64, return_tensors="pt")
            rows += model(input_ids=batch["input_ids"].to(args.device)).pooler_output.cpu().shape[0]
    if args.device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    print(json.dumps({"captions": rows, "seconds": seconds, "captions_per_s": rows / seconds,
                      "device": args.device, "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
