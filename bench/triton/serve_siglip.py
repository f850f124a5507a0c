"""The Triton deployment of SigLIP emb replaces, on the real Triton Inference Server (bundled in nvidia-pytriton).

Serves, over Triton's HTTP API (the KServe v2 protocol perf_analyzer speaks):
  siglip_text    INPUT_IDS   INT64 [-1,64] -> EMBEDDING FP32 [-1,D]   SiglipTextModel(...).pooler_output
  siglip_vision  INPUT_IMAGE BYTES [-1,1]  -> EMBEDDING FP32 [-1,D]   raw JPEG/PNG bytes -> PIL .convert("RGB")
                                                                     -> SiglipImageProcessor -> SiglipVisionModel(...).pooler_output
as the Triton deployment's python-backend models did (mhendrey/TritonsProngs; siglip_vision with its preprocessing step folded in,
as the triton-embed-image ensemble computes it), on torch CPU in fp32, under torch.inference_mode, with Triton's
dynamic batcher (max batch size and max queue delay from the flags). D is 1152 for so400m.

Weights: --model-dir DIR is a HF SigLIP folder. With weights in it (*.safetensors / pytorch_model*.bin) they are
loaded with from_pretrained; otherwise (an ONNX export, whose config.json describes the architecture) the models are
built from DIR/config.json with random weights and a fixed seed: only speed is compared, and weights do not change it.

Usage: bench/triton/.venv/bin/python bench/triton/serve_siglip.py --model-dir DIR [--http-port 8000]
         [--max-batch-size 8] [--max-queue-delay-us 100000] [--models siglip_text,siglip_vision]
Ready when GET /v2/health/ready answers 200. SIGTERM or SIGINT stops Triton and exits.
The statistics endpoint (which perf_analyzer reads) is left unguarded: TritonSecurityConfig(restricted_endpoints=[]).
"""
from __future__ import annotations

import argparse
import io
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig, TritonSecurityConfig
from transformers import SiglipImageProcessor, SiglipTextConfig, SiglipTextModel, SiglipVisionConfig, SiglipVisionModel

SEED = 0
MODELS = ("siglip_text", "siglip_vision")
LOG = logging.getLogger("serve_siglip")


def has_weights(folder: Path) -> bool:
    return any(folder.glob("*.safetensors")) or any(folder.glob("pytorch_model*.bin"))


def load_model(kind: str, folder: Path) -> torch.nn.Module:
    model_class, config_class, key = {
        "text": (SiglipTextModel, SiglipTextConfig, "text_config"),
        "vision": (SiglipVisionModel, SiglipVisionConfig, "vision_config"),
    }[kind]
    if has_weights(folder):
        # As the Triton deployment: Siglip{Text,Vision}Model.from_pretrained(<SiglipModel checkpoint>), fp32 on CPU.
        model = model_class.from_pretrained(folder, torch_dtype=torch.float32)
    else:
        config = json.loads((folder / "config.json").read_text())
        sub = config.get(key, config)  # a SiglipModel config, or already the text/vision one
        torch.manual_seed(SEED)
        model = model_class(config_class(**sub)).to(torch.float32)
    return model.eval()


def image_processor(folder: Path) -> SiglipImageProcessor:
    if (folder / "preprocessor_config.json").is_file():
        return SiglipImageProcessor.from_pretrained(folder)
    config = json.loads((folder / "config.json").read_text())
    size = config.get("vision_config", config).get("image_size", 384)
    return SiglipImageProcessor(size={"height": size, "width": size})


def text_endpoint(folder: Path):
    model = load_model("text", folder)
    length = model.config.max_position_embeddings  # 64 for so400m: INPUT_IDS dims [64]

    @batch
    def infer(INPUT_IDS: np.ndarray):
        with torch.inference_mode():
            out = model(input_ids=torch.from_numpy(INPUT_IDS.astype(np.int64, copy=False))).pooler_output
        return {"EMBEDDING": out.to(torch.float32).numpy()}

    with torch.inference_mode():  # warm-up, as the Triton deployment's model_warmup (zero_data INT64 [64]); also gives D
        dim = model(input_ids=torch.zeros((1, length), dtype=torch.int64)).pooler_output.shape[-1]
    inputs = [Tensor(name="INPUT_IDS", dtype=np.int64, shape=(length,))]
    return infer, inputs, dim


def vision_endpoint(folder: Path):
    model = load_model("vision", folder)
    processor = image_processor(folder)

    @batch
    def infer(INPUT_IMAGE: np.ndarray):
        images = [Image.open(io.BytesIO(bytes(b))).convert("RGB") for b in INPUT_IMAGE.reshape(-1)]
        pixels = processor(images=images, return_tensors="pt")["pixel_values"]
        with torch.inference_mode():
            out = model(pixel_values=pixels).pooler_output
        return {"EMBEDDING": out.to(torch.float32).numpy()}

    size = model.config.image_size
    with torch.inference_mode():  # warm-up, as the Triton deployment's model_warmup (random FP32 [3,384,384]); also gives D
        dim = model(pixel_values=torch.rand((1, 3, size, size))).pooler_output.shape[-1]
    inputs = [Tensor(name="INPUT_IMAGE", dtype=np.bytes_, shape=(1,))]
    return infer, inputs, dim


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, required=True, help="HF SigLIP folder (config.json, optional weights)")
    parser.add_argument("--http-port", type=int, default=8000)
    parser.add_argument("--grpc-port", type=int, help="default: HTTP port + 1")
    parser.add_argument("--max-batch-size", type=int, default=8)
    parser.add_argument("--max-queue-delay-us", type=int, default=100_000)
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of " + ",".join(MODELS))
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)), help="torch threads (default: all cores)")
    parser.add_argument("--log-verbose", type=int, default=0, help="tritonserver --log-verbose")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="serve_siglip: %(message)s", stream=sys.stderr)

    names = [n for n in args.models.split(",") if n]
    unknown = sorted(set(names) - set(MODELS))
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {list(MODELS)}")
    if not (args.model_dir / "config.json").is_file():
        parser.error(f"{args.model_dir}/config.json not found")

    torch.set_num_threads(args.threads)
    LOG.info("torch %s, %d threads, weights: %s", torch.__version__, torch.get_num_threads(),
             "from checkpoint" if has_weights(args.model_dir) else f"random (seed {SEED}) from config.json")
    started = time.perf_counter()
    endpoints = {}
    for name in names:
        t0 = time.perf_counter()
        endpoints[name] = (text_endpoint if name == "siglip_text" else vision_endpoint)(args.model_dir)
        LOG.info("%s loaded and warmed up in %.1f s (EMBEDDING dim %d)", name, time.perf_counter() - t0, endpoints[name][2])

    # SIGTERM -> SystemExit in the main thread -> the `with` block stops tritonserver and its stubs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    config = TritonConfig(
        http_address="127.0.0.1",
        http_port=args.http_port,
        grpc_address="127.0.0.1",
        grpc_port=args.grpc_port or args.http_port + 1,
        allow_metrics=False,
        log_verbose=args.log_verbose,
    )
    # perf_analyzer reads /v2/models/<m>/stats: PyTriton guards it (and a few others) with a generated token by default.
    security = TritonSecurityConfig(restricted_endpoints=[])
    try:
        with Triton(config=config, security_config=security) as triton:
            for name, (infer, inputs, dim) in endpoints.items():
                triton.bind(
                    model_name=name,
                    infer_func=infer,
                    inputs=inputs,
                    outputs=[Tensor(name="EMBEDDING", dtype=np.float32, shape=(dim,))],
                    config=ModelConfig(
                        max_batch_size=args.max_batch_size,
                        batcher=DynamicBatcher(max_queue_delay_microseconds=args.max_queue_delay_us),
                    ),
                    strict=True,
                )
            LOG.info("Triton serving %s on http://127.0.0.1:%d (max batch %d, max queue delay %d us); %.1f s after start",
                     ", ".join(endpoints), args.http_port, args.max_batch_size, args.max_queue_delay_us, time.perf_counter() - started)
            triton.serve()
    except (KeyboardInterrupt, SystemExit):
        pass
    LOG.info("stopped")
    # Triton and its stubs are gone by now; skip the interpreter teardown, which waits on leftover
    # PyTriton/torch threads for many seconds.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
