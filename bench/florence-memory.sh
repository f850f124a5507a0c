#!/usr/bin/env bash
# Benchmark: peak resident memory and time of Florence-2 captioning at a batch size, `emb florence`
# against the Python reference (tools/reference/bench_florence.py: HF Florence2Processor +
# generate() on torch CPU, batched), on the same generated photo-sized JPEGs, one after the other.
# Both sides run beam search (3 beams, no_repeat_ngram_size 3) with min = max new tokens, so every
# image generates the same number of tokens. Peak RSS is /usr/bin/time's maximum resident set size
# of the whole process, model loading included; seconds exclude loading on both sides.
#
# Usage: bash bench/florence-memory.sh [model-dir] [images] [batch] [tokens]
#   default: models-full/exports/florence2-large-original, 8 images, batch 8, 20 tokens
#   EMB_BEFORE=DIR  also run another build of emb (a checkout with dist/ built) for a before column
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models-full/exports/florence2-large-original}
count=${2:-8}
batch=${3:-8}
tokens=${4:-20}
python=tools/reference/.venv/bin/python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source bench/lib.sh
make_images "$work/images" "$count"

# Runs a command under /usr/bin/time; prints "<peak MiB> <seconds from the JSON the command printed>".
measure() {
  local seconds_expr=$1
  shift
  /usr/bin/time -f "%M" -o "$work/rss" "$@" >"$work/out.json"
  local seconds
  seconds=$(json_field "$seconds_expr" <"$work/out.json")
  echo "$(($(cat "$work/rss") / 1024)) $seconds"
}

emb_at() {
  rm -rf "$work/out"
  measure "d.seconds" node "$1/bin/run.js" florence "<CAPTION>" "$work/images" --model "$model" --out "$work/out" \
    --batch-size "$batch" --num-beams 3 --max-new-tokens "$tokens" --min-new-tokens "$tokens" --device cpu --json --no-progress
}

echo "| side | images | batch | new tokens | peak RSS MiB | seconds (excluding load) |"
echo "|---|---|---|---|---|---|"
row() { read -r rss seconds; echo "| $1 | $count | $batch | $tokens | $rss | $(printf '%.1f' "$seconds") |"; }
emb_at . | row "emb ($(git rev-parse --short HEAD))"
if [ -n "${EMB_BEFORE:-}" ]; then emb_at "$EMB_BEFORE" | row "emb before ($(git -C "$EMB_BEFORE" rev-parse --short HEAD))"; fi
measure "d.images / d.images_per_s" "$python" tools/reference/bench_florence.py --model-dir "$model" --images "$work/images" \
  --task "<CAPTION>" --batch-size "$batch" --max-new-tokens "$tokens" --num-beams 3 | row "Python reference (torch $("$python" -c 'import torch; print(torch.__version__)'))"
