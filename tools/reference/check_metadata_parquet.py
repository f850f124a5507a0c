"""Checks an emb embedding folder's metadata.parquet with pandas + pyarrow, independently of emb:
pandas reads it, it has one row per embeddings.npy row, and its rows equal index.jsonl's records.
Where the folder also has the clip-retrieval layout (--layout clip-retrieval), checks it the way
clip-retrieval's index step reads it: the img_emb/ (or text_emb/) parts and metadata/ parts, in
file name order, concatenate to embeddings.npy and to the records, path named image_path (text
named caption).

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
    vectors = np.load(folder / "embeddings.npy", mmap_mode="r")
    records = [json.loads(line) for line in (folder / "index.jsonl").read_text("utf8").splitlines() if line.strip()]
    report = compare(folder, pd.read_parquet(folder / "metadata.parquet", engine="pyarrow"), vectors, records)
    for emb, renamed in (("img_emb", {"path": "image_path"}), ("text_emb", {"text": "caption"})):
        if (folder / emb).is_dir():
            parts = sorted((folder / emb).glob(f"{emb}_*.npy"))
            tables = sorted((folder / "metadata").glob("metadata_*.parquet"))
            if len(parts) != len(tables):
                raise AssertionError(f"{folder}: {len(parts)} {emb} parts, {len(tables)} metadata parts")
            stacked = np.concatenate([np.load(p) for p in parts])
            if not np.array_equal(stacked, np.asarray(vectors)):
                raise AssertionError(f"{folder}: the {emb} parts do not concatenate to embeddings.npy")
            table = pd.concat([pd.read_parquet(t, engine="pyarrow") for t in tables], ignore_index=True)
            if list(table.columns)[0] != next(iter(renamed.values())):
                raise AssertionError(f"{folder}: metadata parts start with {list(table.columns)[0]}, not {next(iter(renamed.values()))}")
            renamed_records = [{renamed.get(k, k): v for k, v in r.items()} for r in records]
            report += f"\n{folder}: clip-retrieval layout, {len(parts)} parts: " + compare(folder, table, stacked, renamed_records)
    return report


def compare(folder: Path, table: pd.DataFrame, vectors: np.ndarray, records: list) -> str:
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
        extra = set(table.columns) - set(record) - {"width", "height", "text", "caption"}
        if extra:
            raise AssertionError(f"{folder}: row {i}: parquet columns {sorted(extra)} not in index.jsonl")
    return f"{folder}: {len(table)} rows, columns {list(table.columns)} ({', '.join(str(t) for t in table.dtypes)}), equal to index.jsonl and embeddings.npy"


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for arg in sys.argv[1:]:
        print(check(Path(arg)))
