#!/usr/bin/env bash
# Benchmark: this checkout against another built checkout of emb (EMB_BEFORE, e.g. a git worktree
# of an earlier commit after `npm ci` there), alternately on this machine: `emb embed image`
# (images/s on generated photo-sized JPEGs) and `emb serve` measured by `emb perf --url`
# (inferences/s at a concurrency, image and text towers). Prints a Markdown row per check with the
# medians and the ratio now/before: a refactor should stay near 1.00x.
#
# Usage: EMB_BEFORE=../emb-old bash bench/before-after.sh [images] [reps] [concurrency]
#   MODEL_DIR: a SigLIP folder (default test/fixtures/siglip-tiny)
#   CHECKS: which rows (default "embed siglip-image siglip-text")
set -euo pipefail
cd "$(dirname "$0")/.."
before=${EMB_BEFORE:?set EMB_BEFORE to another built checkout of emb}
count=${1:-500}
reps=${2:-5}
concurrency=${3:-8}
model=${MODEL_DIR:-test/fixtures/siglip-tiny}
checks=${CHECKS:-embed siglip-image siglip-text}
work=$(mktemp -d)
source bench/lib.sh
servers=()
trap 'for p in "${servers[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

images="$work/images"
make_images "$images" "$count"

embed_with() {
  rm -rf "$work/out"
  "$1/bin/run.js" embed image "$images" --model "$model" --out "$work/out" --batch-size 16 --device cpu --json --no-progress | json_field "d.embedded / d.seconds"
}
embed_now() { embed_with .; }
embed_before() { embed_with "$before"; }

# One server per checkout on its own free port, both up for the whole comparison.
start_serve() {
  local checkout=$1 log=$2
  "$checkout/bin/run.js" serve --model "siglip=$model" --port 0 --no-grpc --device cpu > "$log" 2>&1 &
  servers+=($!)
  for _ in $(seq 1 600); do
    local url
    url=$(grep -o 'http://[0-9.]*:[0-9]*' "$log" | head -1 || true)
    if [ -n "$url" ]; then echo "$url"; return; fi
    sleep 0.1
  done
  echo "before-after: $checkout did not start serving (see $log)" >&2
  exit 1
}
now_url=$(start_serve . "$work/serve-now.log")
before_url=$(start_serve "$before" "$work/serve-before.log")

perf_at() {
  ./bin/run.js perf --url "$1" --target "$2" --concurrency "$concurrency" --measurement-interval 2000 --json --no-progress |
    json_field "d.results ? d.results[0].throughput : d.throughput"
}

echo "| check | count | batch | reps | now | before | now/before |"
echo "|---|---|---|---|---|---|---|"
if [[ " $checks " == *" embed "* ]]; then compare "embed image (images/s)" "$count" 16 "$reps" embed_now embed_before; fi
for target in $checks; do
  [ "$target" = embed ] && continue
  perf_now() { perf_at "$now_url" "$target"; }
  perf_before() { perf_at "$before_url" "$target"; }
  compare "serve $target, concurrency $concurrency (infer/s)" 0 8 "$reps" perf_now perf_before
done
