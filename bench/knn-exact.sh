#!/usr/bin/env bash
# Benchmark: exact KNN search at ImageNet size (10,000 references x 20,000 queries x 1,152
# dimensions by default), emb's scalar scan (a subset, extrapolated), a JavaScript product kernel
# (a subset, extrapolated) and the blocked matrix-product search, then scikit-learn's
# KNeighborsClassifier(algorithm="brute", metric="cosine") on the same vectors. Prints two JSON lines.
#
# Usage: bash bench/knn-exact.sh [references] [queries] [dim] [k] [scan-subset]
#   needs: npm ci, and PYTHON (default tools/reference/.venv/bin/python) with scikit-learn.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-tools/reference/.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

node --import tsx bench/knn-exact.mts "$work" "$@"
"$python" bench/knn_exact_sklearn.py "$work" "${4:-10}"
