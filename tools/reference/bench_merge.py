"""The Python side of bench/merge.sh, and its shard maker.

    python bench_merge.py make <root> <rows> <shards> <dim>   # synthetic shard folders of emb embed image
    python bench_merge.py merge <out> <folder>...             # what emb merge does, in numpy + pandas

`merge` reads each shard's embeddings.npy (memory-mapped) and index.jsonl, orders the records by
path component by component, writes embeddings.npy, index.jsonl and metadata.parquet, and prints
one JSON line with the seconds and rows.
"""
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

FINGERPRINT = {"model": "bench/synthetic", "commit": None, "graph": "onnx/vision_model.onnx", "normalize": False}


def make(root: Path, rows: int, shards: int, dim: int) -> None:
    rng = np.random.default_rng(0)
    paths = [f"photos/d{i % 100:03d}/img_{i:07d}.jpg" for i in range(rows)]
    owner = [int(hashlib.sha256(p.encode()).hexdigest()[:8], 16) % shards for p in paths]
    for s in range(shards):
        folder = root / f"shard-{s}"
        folder.mkdir(parents=True)
        mine = sorted(p for p, o in zip(paths, owner) if o == s)
        np.save(folder / "embeddings.npy", rng.standard_normal((len(mine), dim), dtype=np.float32))
        with open(folder / "index.jsonl", "w") as f:
            for row, p in enumerate(mine):
                f.write(json.dumps({"row": row, "path": p, "bytes": 100_000 + row, "mtimeMs": 1.7e12 + row * 0.5,
                                    "sha256": hashlib.sha256(p.encode()).hexdigest(), "width": 500, "height": 375}, separators=(",", ":")) + "\n")
        (folder / "errors.jsonl").write_text("")
        (folder / "run.json").write_text(json.dumps({"command": "embed image", "fingerprint": FINGERPRINT, "status": "complete",
                                                    "shard": {"index": s, "count": shards}}))


def merge(out: Path, folders: list) -> None:
    start = time.perf_counter()
    records, sources = [], []
    for i, folder in enumerate(folders):
        for line in open(folder / "index.jsonl"):
            r = json.loads(line)
            records.append(r)
            sources.append((i, r["row"]))
    order = sorted(range(len(records)), key=lambda k: records[k]["path"].split("/"))
    arrays = [np.load(f / "embeddings.npy", mmap_mode="r") for f in folders]
    merged = np.empty((len(order), arrays[0].shape[1]), dtype=np.float32)
    for n, k in enumerate(order):
        i, row = sources[k]
        merged[n] = arrays[i][row]
    out.mkdir(parents=True)
    np.save(out / "embeddings.npy", merged)
    ordered = [dict(records[k], row=n) for n, k in enumerate(order)]
    with open(out / "index.jsonl", "w") as f:
        for r in ordered:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")
    pd.DataFrame(ordered).to_parquet(out / "metadata.parquet")
    print(json.dumps({"seconds": time.perf_counter() - start, "rows": len(ordered)}))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif sys.argv[1] == "merge":
        merge(Path(sys.argv[2]), [Path(a) for a in sys.argv[3:]])
    else:
        sys.exit(__doc__)
