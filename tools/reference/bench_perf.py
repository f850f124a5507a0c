"""The Python side of `bench/perf.sh`: the load `emb perf` generates, served by the reference stack.

N client threads each keep one request in flight (one image or caption, as the Triton deployment's clients
sent them); a server thread batches queued requests the way Triton's dynamic batcher does (up to
--batch-size, waiting at most --max-queue-delay-us for more) and runs HF transformers on torch
CPU. Preprocessing (PIL + the HF processor or tokenizer) happens in the client threads, as the
Triton ensemble's Python preprocessing step would. After --warmup-s, completed requests are
counted for --measure-s. Prints one JSON line: throughput and client latency percentiles.

Models are built from the export's config.json with random weights (weights do not change speed).
Usage: python bench_perf.py --target siglip-image|siglip-text|florence-caption --model-dir DIR
         [--images DIR] [--concurrency 8] [--batch-size 8] [--max-queue-delay-us 100000]
         [--max-new-tokens 16] [--warmup-s 10] [--measure-s 30]
"""
from __future__ import annotations

import argparse
import os
import json
import queue
import threading
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from transformers import SiglipImageProcessor, SiglipTextConfig, SiglipTextModel, SiglipTokenizer, SiglipVisionConfig, SiglipVisionModel


class Server:
    """A dynamic batcher: requests queue up; a batch runs when full or when the oldest waited long enough."""

    def __init__(self, run_batch, batch_size: int, delay_s: float):
        self.requests: queue.Queue = queue.Queue()
        self.run_batch, self.batch_size, self.delay_s = run_batch, batch_size, delay_s
        self.stop = False
        threading.Thread(target=self.loop, daemon=True).start()

    def submit(self, item):
        done = threading.Event()
        slot = {"item": item, "done": done}
        self.requests.put(slot)
        done.wait()
        return slot["out"]

    def loop(self):
        while not self.stop:
            try:
                first = self.requests.get(timeout=0.1)
            except queue.Empty:
                continue
            batch = [first]
            deadline = time.perf_counter() + self.delay_s
            while len(batch) < self.batch_size:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                try:
                    batch.append(self.requests.get(timeout=remaining))
                except queue.Empty:
                    break
            outputs = self.run_batch([slot["item"] for slot in batch])
            for slot, out in zip(batch, outputs):
                slot["out"] = out
                slot["done"].set()


def siglip_image(args):
    config = json.loads((args.model_dir / "config.json").read_text())
    model = SiglipVisionModel(SiglipVisionConfig(**config["vision_config"])).eval()
    processor = SiglipImageProcessor.from_pretrained(args.model_dir)
    files = image_files(args.images)

    def prepare(i):
        image = ImageOps.exif_transpose(Image.open(files[i % len(files)])).convert("RGB")
        return processor(images=image, return_tensors="pt")["pixel_values"][0]

    def run(items):
        with torch.inference_mode():
            return list(model(pixel_values=torch.stack(items)).pooler_output)

    return prepare, run


def siglip_text(args):
    config = json.loads((args.model_dir / "config.json").read_text())
    model = SiglipTextModel(SiglipTextConfig(**config["text_config"])).eval()
    tokenizer = SiglipTokenizer.from_pretrained(args.model_dir)
    words = ["a", "photo", "of", "the", "small", "dog", "red", "car", "on", "street", "two", "people", "tench", "goldfish"]
    captions = [" ".join(words[(i * 7 + j * 3) % len(words)] for j in range(3 + i % 12)) for i in range(256)]

    def prepare(i):
        return tokenizer(captions[i % len(captions)], padding="max_length", truncation=True, max_length=64, return_tensors="pt")["input_ids"][0]

    def run(items):
        with torch.inference_mode():
            return list(model(input_ids=torch.stack(items)).pooler_output)

    return prepare, run


def florence_caption(args):
    from bench_florence import build_model, load_processor  # the Florence-2 benchmark's reference setup
    from transformers import GenerationConfig

    model = build_model(args.model_dir)
    processor = load_processor(args.model_dir)
    image_token = processor.tokenizer.image_token_id
    generation = GenerationConfig.from_pretrained(args.model_dir)
    generation.update(num_beams=3, no_repeat_ngram_size=3, early_stopping=True, max_new_tokens=args.max_new_tokens,
                      min_new_tokens=args.max_new_tokens)
    files = image_files(args.images)

    def prepare(i):
        image = ImageOps.exif_transpose(Image.open(files[i % len(files)])).convert("RGB")
        inputs = processor(text="<CAPTION>", images=image, return_tensors="pt")
        ids = inputs["input_ids"][0]
        return inputs["pixel_values"][0], ids[ids != image_token]

    def run(items):
        with torch.inference_mode():
            pixels = torch.stack([p for p, _ in items])
            ids = torch.stack([i for _, i in items])
            features = model.get_image_features(pixels)
            embeds = torch.cat([features, model.get_input_embeddings()(ids)], dim=1)
            mask = torch.ones(embeds.shape[:2], dtype=torch.long)
            encoded = model.get_encoder()(inputs_embeds=embeds, attention_mask=mask)
            return list(model.generate(encoder_outputs=encoded, attention_mask=mask, generation_config=generation))

    return prepare, run


def image_files(folder: Path | None) -> list[Path]:
    if folder is None:
        raise SystemExit("--images is required for image targets")
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".webp"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", choices=["siglip-image", "siglip-text", "florence-caption"], required=True)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--images", type=Path)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-queue-delay-us", type=int, default=100_000)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--warmup-s", type=float, default=10)
    parser.add_argument("--measure-s", type=float, default=30)
    args = parser.parse_args()

    prepare, run = {"siglip-image": siglip_image, "siglip-text": siglip_text, "florence-caption": florence_caption}[args.target](args)
    server = Server(run, args.batch_size, args.max_queue_delay_us / 1e6)
    latencies: list[tuple[float, float]] = []  # (finish time, latency)
    counter = iter(range(10**12))
    stop = threading.Event()

    def client():
        while not stop.is_set():
            i = next(counter)
            start = time.perf_counter()
            server.submit(prepare(i))
            end = time.perf_counter()
            latencies.append((end, end - start))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(args.concurrency)]
    begun = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(args.warmup_s)
    window_start = time.perf_counter()
    time.sleep(args.measure_s)
    window_end = time.perf_counter()
    stop.set()
    measured = np.array([lat for end, lat in latencies if window_start <= end < window_end]) * 1e6
    print(json.dumps({
        "target": args.target, "concurrency": args.concurrency, "batch_size": args.batch_size,
        "requests": int(measured.size), "seconds": window_end - window_start,
        "throughput": measured.size / (window_end - window_start),
        "avg_latency_us": float(measured.mean()) if measured.size else None,
        "p50_latency_us": float(np.percentile(measured, 50)) if measured.size else None,
        "p99_latency_us": float(np.percentile(measured, 99)) if measured.size else None,
        "torch": torch.__version__, "threads": torch.get_num_threads(), "total_s": time.perf_counter() - begun,
    }), flush=True)
    # Client and server threads are still inside torch: leave without interpreter teardown, which
    # would abort ("terminate called without an active exception").
    os._exit(0)


if __name__ == "__main__":
    main()
