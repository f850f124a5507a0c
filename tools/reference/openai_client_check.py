"""OpenAI's own Python client against `emb serve`, unchanged: embeddings.create must give the
vectors `emb embed text --normalize` and `emb embed image --normalize` write for the same inputs,
and its errors must be the client's exception classes.

Usage (after `npm run build`): tools/reference/.venv/bin/python tools/reference/openai_client_check.py
Needs the `openai` package in the venv (pip install openai). Prints one line per check; exit 1 on
any mismatch.
"""
from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import openai

from common import FIXTURES, IMAGES_DIR, REPO_ROOT

MODEL = str(FIXTURES / "siglip-tiny")
CAPTIONS = ["a photo of a cat", "A dog running on the beach.", "two people talking", "x"]
PHOTOS = ["photo_500x375.jpg", "cmyk_320x240.jpg", "exif_rot90_400x300.jpg"]
CLI = ["node", str(REPO_ROOT / "bin" / "run.js")]


def emb_rows(kind: str, inputs: list[str], work: Path) -> np.ndarray:
    out = work / kind
    if kind == "text":
        captions = work / "captions.txt"
        captions.write_text("\n".join(inputs) + "\n")
        args = ["embed", "text", "--file", str(captions)]
    else:
        args = ["embed", "image", *inputs]
    subprocess.run([*CLI, *args, "--model", MODEL, "--out", str(out), "--normalize", "--no-progress"], check=True)
    rows = np.load(out / "embeddings.npy")
    index = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    key = (lambda r: r["line"]) if kind == "text" else (lambda r: inputs.index(r["path"]))
    return rows[[r["row"] for r in sorted(index, key=key)]]


def main() -> int:
    failures = 0

    def check(name: str, ok: bool, detail: str = "") -> None:
        nonlocal failures
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}{f': {detail}' if detail else ''}")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server = subprocess.Popen(
            [*CLI, "serve", "--model", f"siglip={MODEL}", "--port", "0", "--no-grpc", "--no-progress"],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "EMB_SERVE_TOKEN": "sk-check"},
        )
        try:
            url = None
            for line in server.stderr:
                match = re.search(r"listening on (http://\S+)", line)
                if match:
                    url = match.group(1)
                    break
            assert url, "emb serve did not start"
            client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-check", max_retries=0)

            texts = emb_rows("text", CAPTIONS, work)
            for fmt in ("float", "base64"):
                got = client.embeddings.create(model=MODEL, input=CAPTIONS, encoding_format=fmt)
                vectors = np.array(
                    [d.embedding if fmt == "float" else np.frombuffer(base64.b64decode(d.embedding), dtype="<f4") for d in got.data],
                    dtype=np.float32,
                )
                check(f"texts, encoding_format={fmt}: equal to emb embed text --normalize", np.array_equal(vectors, texts), f"max diff {np.abs(vectors - texts).max():.2e}")

            paths = [str(IMAGES_DIR / p) for p in PHOTOS]
            images = emb_rows("image", paths, work)
            data = [base64.b64encode(Path(p).read_bytes()).decode() for p in paths]
            got = client.embeddings.create(model=MODEL, input=data, encoding_format="float", extra_body={"modality": "image"})
            vectors = np.array([d.embedding for d in got.data], dtype=np.float32)
            diff = float(np.abs(vectors - images).max())
            check("images (modality image): emb embed image --normalize within float32 batch noise", diff < 1e-6, f"max diff {diff:.2e}")

            try:
                client.embeddings.create(model="text-embedding-3-small", input="hi")
                check("unknown model raises NotFoundError", False)
            except openai.NotFoundError as error:
                check("unknown model raises NotFoundError", error.code == "model_not_found", str(error.code))
            try:
                openai.OpenAI(base_url=f"{url}/v1", api_key="wrong", max_retries=0).embeddings.create(model=MODEL, input="hi")
                check("wrong key raises AuthenticationError", False)
            except openai.AuthenticationError:
                check("wrong key raises AuthenticationError", True)
        finally:
            server.terminate()
            server.wait()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
