#!/usr/bin/env bash
# Benchmark: scoring a COCO caption set with `emb coco eval --results` (TypeScript, no Java) against
# pycocoevalcap (PTB tokenizer and METEOR as Java subprocesses, BLEU/ROUGE/CIDEr in Python), on the
# same N images x 5 references built from the test set, one after the other on this machine. Both
# times are whole runs: reading the files, tokenising, the four metrics (SPICE skipped); emb's
# includes starting Node and loading WordNet, with the bootstrap intervals off.
# Prints a Markdown table row for bench/RESULTS.md.
#
# Usage: bash bench/coco-score.sh [images] [runs]
#   needs: npm ci (builds dist/), tools/reference/.venv with pycocoevalcap, Java 17.
set -euo pipefail
cd "$(dirname "$0")/.."
images=${1:-5000}
runs=${2:-3}
python=tools/reference/.venv/bin/python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source bench/lib.sh
(cd tools/reference && .venv/bin/python bench_coco_score.py make --images "$images" --out "$work")

emb() {
  local start end
  start=$(date +%s.%N)
  ./bin/run.js coco eval --annotations "$work/captions.json" --results "$work/results.json" --out "$work/emb" \
    --bootstrap 0 --no-progress --json > "$work/emb.json"
  end=$(date +%s.%N)
  node -e "console.log(($end - $start))"
}
reference() {
  (cd tools/reference && .venv/bin/python bench_coco_score.py score --annotations "$work/captions.json" --results "$work/results.json") \
    > "$work/py.json"
  json_field "d.seconds" < "$work/py.json"
}

emb_times=() py_times=()
for ((i = 0; i < runs; i++)); do
  emb_times+=("$(emb)")
  py_times+=("$(reference)")
done
node -e '
  const [images, runs, e, p, embJson, pyJson] = process.argv.slice(1);
  const median = (xs) => { const s = xs.split(" ").map(Number).sort((a, b) => a - b); return s[(s.length - 1) >> 1]; };
  const emb = median(e), py = median(p);
  const em = JSON.parse(require("fs").readFileSync(embJson)).metrics, pm = JSON.parse(require("fs").readFileSync(pyJson)).metrics;
  const gap = Math.max(...["Bleu_4", "ROUGE_L", "CIDEr"].map((k) => Math.abs(em[k] - pm[k])));
  console.log(`| ${images} x 5 | ${runs} | ${emb.toFixed(2)} | ${py.toFixed(2)} | ${(py / emb).toFixed(2)}x faster | ${gap.toExponential(1)} | ${(pm.METEOR - em.METEOR).toFixed(4)} |`);
' "$images" "$runs" "${emb_times[*]}" "${py_times[*]}" "$work/emb.json" "$work/py.json"
