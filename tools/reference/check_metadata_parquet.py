"""Checks an emb embedding folder's metadata.parquet with pandas + pyarrow, independently of emb:
pandas reads it, it has one row per embeddings.npy row, and its rows equal index.jsonl's records.

    python tools/reference/check_metadata_parquet.py <folder> [<folder> ...]

Exits non-zero, naming the folder and the first difference, when a check fails.
"""
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd


def check(folder: Path) -> str:
    table = pd.read_parquet(folder / "metadata.parquet", engine="pyarrow")
    vectors = np.load(folder / "embeddings.npy", mmap_mode="r")
    records = [json.loads(line) for line in (folder / "index.jsonl").read_text("utf8").splitlines() if line.strip()]
    if not (len(table) == len(records) == vectors.shape[0]):
        raise AssertionError(f"{folder}: {len(table)} parquet rows, {len(records)} index records, {vectors.shape[0]} embedding rows")
    if list(table["row"]) != list(range(len(table))):
        raise AssertionError(f"{folder}: the row column is not 0..{len(table) - 1}")
    for i, record in enumerate(records):
        for field, expected in record.items():
            got = table[field].iloc[i]
            missing = got is None or (isinstance(got, float) and math.isnan(got))
            same = expected is None if missing else (got == expected if not isinstance(expected, float) else abs(got - expected) <= 1e-9 * max(1.0, abs(expected)))
            if not same:
                raise AssertionError(f"{folder}: row {i} field {field}: parquet {got!r}, index.jsonl {expected!r}")
        extra = set(table.columns) - set(record) - {"width", "height", "text"}
        if extra:
            raise AssertionError(f"{folder}: row {i}: parquet columns {sorted(extra)} not in index.jsonl")
    return f"{folder}: {len(table)} rows, columns {list(table.columns)} ({', '.join(str(t) for t in table.dtypes)}), equal to index.jsonl and embeddings.npy"


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for arg in sys.argv[1:]:
        print(check(Path(arg)))
