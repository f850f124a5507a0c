#!/usr/bin/env bash
# Benchmark: `emb embed text` against the Python reference (SiglipTokenizer with
# padding="max_length" + SiglipTextModel on torch CPU, batched) on the same captions, one after
# the other on this machine. Prints a Markdown table row per model for bench/RESULTS.md.
#
# Usage: bash bench/embed-text.sh [tiny-count] [full-count]   (TINY_RUNS, FULL_RUNS: repetitions)
#   needs: npm ci (builds dist/), tools/reference/.venv (bash tools/reference/regenerate.sh),
#          and for the full-size row models-full/ (tools/reference/export_full.py --only siglip).
set -euo pipefail
cd "$(dirname "$0")/.."
tiny_count=${1:-2000}
full_count=${2:-200}
python=tools/reference/.venv/bin/python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

source bench/lib.sh

run_pair() {
  local label=$1 model=$2 count=$3 batch=$4 reps=$5
  local captions="$work/$label-captions.txt"
  make_captions "$count" > "$captions"
  emb() {
    rm -rf "$work/$label-out"
    ./bin/run.js embed text --file "$captions" --model "$model" --out "$work/$label-out" --batch-size "$batch" \
      --device cpu --json --no-progress | json_field "d.embedded / d.seconds"
  }
  reference() {
    "$python" tools/reference/bench_embed_text.py --model-dir "$model" --captions "$captions" --batch-size "$batch" \
      | json_field "d.captions_per_s"
  }
  compare "$label" "$count" "$batch" "$reps" emb reference
}

echo "| model | captions | batch | runs | emb captions/s (median) | Python reference captions/s (median) | emb / reference |"
echo "|---|---|---|---|---|---|---|"
run_pair tiny test/fixtures/siglip-tiny "$tiny_count" 64 "${TINY_RUNS:-3}"
if [ "$full_count" -gt 0 ] && [ -d models-full/siglip-so400m-patch14-384-random ]; then
  run_pair so400m models-full/siglip-so400m-patch14-384-random "$full_count" 32 "${FULL_RUNS:-1}"
fi
