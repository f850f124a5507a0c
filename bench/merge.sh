#!/usr/bin/env bash
# Benchmark: `emb merge` of shard folders against the same job in numpy + pandas (memory-mapped
# shards, records ordered by path, embeddings.npy + index.jsonl + metadata.parquet written), on
# the same synthetic `emb embed image` shards, one after the other. Both are timed as whole
# commands (process start, imports and the final fsync included). Checks that both merged
# matrices and record lists are equal, then prints a Markdown row for bench/RESULTS.md with the
# median rows/s and emb's peak resident memory.
#
# Usage: bash bench/merge.sh [rows] [shards] [runs]   (default 100000 rows in 4 shards, 1152-d, 3 runs)
#   needs: npm ci (builds dist/), tools/reference/.venv with pandas and pyarrow
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-100000}
shards=${2:-4}
runs=${3:-3}
python=${PYTHON:-tools/reference/.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$python" tools/reference/bench_merge.py make "$work/in" "$rows" "$shards" 1152
folders=("$work"/in/shard-*)
emb_rates=() py_rates=() peak=0
for ((i = 0; i < runs; i++)); do
  rm -rf "$work/emb" "$work/py"
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/rss" node bin/run.js merge "${folders[@]}" --out "$work/emb" --json > /dev/null
  end=$(date +%s.%N)
  emb_rates+=("$(node -e "console.log($rows / ($end - $start))")")
  peak=$(( $(cat "$work/rss") > peak ? $(cat "$work/rss") : peak ))
  start=$(date +%s.%N)
  "$python" tools/reference/bench_merge.py merge "$work/py" "${folders[@]}" > /dev/null
  end=$(date +%s.%N)
  py_rates+=("$(node -e "console.log($rows / ($end - $start))")")
done
"$python" - "$work/emb" "$work/py" <<'PY'
import json, sys
import numpy as np
a, b = sys.argv[1:]
assert np.array_equal(np.load(f"{a}/embeddings.npy"), np.load(f"{b}/embeddings.npy")), "merged matrices differ"
ra = [json.loads(l) for l in open(f"{a}/index.jsonl")]
rb = [json.loads(l) for l in open(f"{b}/index.jsonl")]
assert ra == rb, "merged records differ"
PY
node -e '
  const [rows, shards, runs, e, p, peak] = process.argv.slice(1);
  const median = (xs) => { const s = xs.split(" ").map(Number).sort((a, b) => a - b); return s[(s.length - 1) >> 1]; };
  const emb = median(e), py = median(p);
  console.log("| " + [rows, shards, runs, emb.toFixed(0), py.toFixed(0), (emb / py).toFixed(2) + "x", (peak / 1024).toFixed(0) + " MB"].join(" | ") + " |");
' "$rows" "$shards" "$runs" "${emb_rates[*]}" "${py_rates[*]}" "$peak"
