"""scikit-learn's exact KNN on the vectors bench/knn-exact.mts wrote: KNeighborsClassifier with
algorithm="brute" and metric="cosine" (what `emb knn eval` reproduces), fit and kneighbors timed
on the float32 vectors as stored and on float64 copies (the goldens' precision), and its
neighbours compared with emb's blocked search (neighbours.json). Prints one JSON line.

Usage: python bench/knn_exact_sklearn.py <dir> [k]
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_info

directory = Path(sys.argv[1])
k = int(sys.argv[2]) if len(sys.argv) > 2 else 10
references = np.load(directory / "references.npy")
queries = np.load(directory / "queries.npy")
# ImageNet 10-shot: ten references per class. Labels do not change which neighbours are found.
labels = np.arange(len(references)) % max(1, len(references) // 10)

emb = np.array(json.loads((directory / "neighbours.json").read_text()))


def run(dtype) -> dict:
    """Fit and search with the vectors in `dtype`: float64 is how the goldens were made."""
    start = time.perf_counter()
    knn = KNeighborsClassifier(n_neighbors=k, algorithm="brute", metric="cosine").fit(references.astype(dtype), labels)
    _, found = knn.kneighbors(queries.astype(dtype))
    return {
        "dtype": np.dtype(dtype).name,
        "seconds": round(time.perf_counter() - start, 2),
        "sameNeighbourSets": int(sum(set(a) == set(b) for a, b in zip(found, emb))),
        "sameNeighbourOrder": int((found == emb).all(axis=1).sum()),
    }


print(
    json.dumps(
        {
            "queries": len(queries),
            "sklearn": [run(np.float32), run(np.float64)],
            "threads": [(i["internal_api"], i["num_threads"]) for i in threadpool_info()],
        }
    )
)
