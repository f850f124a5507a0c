#!/usr/bin/env python3
"""Writes perf_analyzer --input-data files in the Triton deployment's format, for the models `emb serve` runs.

    python3 tools/serve/perf_data.py [--out /tmp/pa-data] [--model test/fixtures/siglip-tiny] [--images a.jpg b.jpg ...]

writes (standard library only):

  siglip_text/input_ids.json          {"data": [{"INPUT_IDS": [64 ints]}, ...]}       (000's data/siglip_text/input_ids.json)
      rows of token ids as SiglipProcessor(padding="max_length") gives them: 2..vocab-1, then </s> (1)
      and padding with 1 to 64; ids stay below the model's text_config.vocab_size.
  embed_image/base64.json             {"data": [{"INPUT_IMAGE": ["<base64 jpeg>"]}, ...]}   (003's data/embed_image/base64.json)
      for the seed's gRPC command (-i grpc --request-parameter=base64_encoded:true:bool; emb serve's --grpc-port).
  embed_image/raw.json                {"data": [{"INPUT_IMAGE": {"b64": "..."}}, ...]}
      for HTTP, where perf_analyzer cannot set request parameters: perf_analyzer base64-decodes "b64"
      and sends the bytes unchanged as the tensor's binary data. A BYTES tensor's binary form is each
      element as a 4-byte little-endian length and its bytes, so "b64" holds that (length + JPEG), and
      the server gets the raw image bytes as the element. (The base64 of the bare JPEG would be read as
      a length prefix of 0xE0FFD8FF and answered with a 400.)
  florence2/load_data_CAPTION.json    {"data": [{"INPUT_IMAGE": ["<b64>"], "TASK_PROMPT": ["<CAPTION>"]}]}   (004's data/load_data_CAPTION.json)
"""
import argparse
import base64
import json
import random
import struct
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LENGTH = 64  # SigLIP's text length, the Triton deployment's INPUT_IDS [-1, 64]
DEFAULT_IMAGES = [
    "test/fixtures/images/photo_500x375.jpg",
    "test/fixtures/images/portrait_375x500.jpg",
    "test/fixtures/images/large_1280x720.jpg",
    "test/fixtures/images/small_64x48.jpg",
]


def token_rows(vocab: int, rows: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    out = []
    for _ in range(rows):
        n = rng.randint(4, LENGTH - 1)  # caption tokens before </s>
        ids = [rng.randrange(2, vocab) for _ in range(n)] + [1]
        out.append(ids + [1] * (LENGTH - len(ids)))
    return out


def write(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    print(f"{path}: {len(doc['data'])} entries, {path.stat().st_size} bytes")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="/tmp/pa-data", help="folder to write into (default %(default)s)")
    ap.add_argument("--model", default="test/fixtures/siglip-tiny", help="SigLIP model folder whose config.json gives the vocabulary size (default %(default)s)")
    ap.add_argument("--images", nargs="+", default=DEFAULT_IMAGES, help="JPEGs for embed_image and florence2 (florence2 uses the first)")
    ap.add_argument("--rows", type=int, default=120, help="siglip_text rows (default %(default)s)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    out = Path(args.out)
    config = json.loads((REPO / args.model / "config.json").read_text())
    vocab = config["text_config"]["vocab_size"]
    write(out / "siglip_text/input_ids.json", {"data": [{"INPUT_IDS": row} for row in token_rows(vocab, args.rows, args.seed)]})

    images = [(REPO / p).read_bytes() for p in args.images]
    b64 = [base64.b64encode(img).decode("ascii") for img in images]
    write(out / "embed_image/base64.json", {"data": [{"INPUT_IMAGE": [s]} for s in b64]})
    serialized = [struct.pack("<I", len(img)) + img for img in images]
    write(out / "embed_image/raw.json", {"data": [{"INPUT_IMAGE": {"b64": base64.b64encode(s).decode("ascii")}} for s in serialized]})
    write(out / "florence2/load_data_CAPTION.json", {"data": [{"INPUT_IMAGE": [b64[0]], "TASK_PROMPT": ["<CAPTION>"]}]})


if __name__ == "__main__":
    main()
