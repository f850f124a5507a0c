#!/usr/bin/env bash
# Benchmark: `emb embed image` on SigLIP 2 so400m against the Python reference (HF
# SiglipImageProcessor / Siglip2ImageProcessor, the slow PIL ones, + SiglipVisionModel /
# Siglip2VisionModel on torch CPU, sdpa, batched) on the same folder of photo-sized JPEGs, one after
# the other on this machine. Prints a Markdown table row per model for bench/RESULTS.md:
#   so400m fixed 256x256 (batch 8), NaFlex at 256 patches (batch 8, the processor config's budget),
#   NaFlex at 1024 patches (batch 4; emb --max-num-patches 1024, Python max_num_patches=1024).
#
# Usage: bash bench/siglip2.sh [fixed-count] [naflex256-count] [naflex1024-count]   (RUNS: repetitions, default 1)
#   LOGS=DIR keeps each run's `emb --json` and reference JSON line there (stage times).
#   needs: npm ci (builds dist/), tools/reference/.venv (bash tools/reference/regenerate.sh), and
#          models-full/ (tools/reference/export_full.py --only siglip2, then --only siglip2-naflex).
set -euo pipefail
cd "$(dirname "$0")/.."
fixed_count=${1:-48}
naflex_count=${2:-48}
naflex1024_count=${3:-16}
reps=${RUNS:-1}
logs=${LOGS:-}
[ -z "$logs" ] || mkdir -p "$logs"
python=tools/reference/.venv/bin/python
fixed=models-full/siglip2-so400m-patch16-256-random
naflex=models-full/siglip2-so400m-patch16-naflex-random
for model in "$fixed" "$naflex"; do
  [ -f "$model/onnx/vision_model.onnx" ] || { echo "missing $model: run tools/reference/export_full.py" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

source bench/lib.sh

# keep SIDE: passes stdin through, keeping a copy under $LOGS when it is set.
keep() {
  if [ -n "$logs" ]; then tee "$logs/$(date -u +%H%M%S)-$1.json"; else cat; fi
}

# run_pair LABEL MODEL COUNT BATCH PATCHES (PATCHES: NaFlex budget, empty for the model's own)
run_pair() {
  local label=$1 model=$2 count=$3 batch=$4 patches=$5
  local images="$work/images-$count"
  [ -d "$images" ] || make_images "$images" "$count"
  emb() {
    rm -rf "$work/out"
    ./bin/run.js embed image "$images" --model "$model" --out "$work/out" --batch-size "$batch" \
      --device cpu --json --no-progress ${patches:+--max-num-patches "$patches"} | keep "$(basename "$model")-${patches:-default}-emb" | json_field "d.embedded / d.seconds"
  }
  reference() {
    "$python" tools/reference/bench_siglip2.py --model-dir "$model" --images "$images" --batch-size "$batch" \
      ${patches:+--max-num-patches "$patches"} | keep "$(basename "$model")-${patches:-default}-reference" | json_field "d.images_per_s"
  }
  compare "$label" "$count" "$batch" "$reps" emb reference
}

echo "| model | images | batch | runs | emb images/s (median) | Python reference images/s (median) | emb / reference |"
echo "|---|---|---|---|---|---|---|"
[ "$fixed_count" -gt 0 ] && run_pair "siglip2-so400m-patch16-256 (fixed 256x256), random weights" "$fixed" "$fixed_count" 8 ""
[ "$naflex_count" -gt 0 ] && run_pair "siglip2-so400m-patch16-naflex, 256 patches, random weights" "$naflex" "$naflex_count" 8 ""
[ "$naflex1024_count" -gt 0 ] && run_pair "siglip2-so400m-patch16-naflex, 1024 patches, random weights" "$naflex" "$naflex1024_count" 4 1024
exit 0
