#!/usr/bin/env bash
# Benchmark: `emb perf` against the same load served by the Python reference stack (HF
# transformers on torch CPU behind a Triton-style dynamic batcher, tools/reference/bench_perf.py),
# one after the other on this machine, same concurrency, same max batch size and queue delay.
# Prints a Markdown table row per target for bench/RESULTS.md.
#
# Usage: bash bench/perf.sh [concurrency] [batch]      (FLORENCE_TOKENS: tokens per caption, default 16)
#   needs: npm ci (builds dist/), tools/reference/.venv (bash tools/reference/regenerate.sh),
#          and for the full-size rows models-full/ (tools/reference/export_full.py).
set -euo pipefail
cd "$(dirname "$0")/.."
concurrency=${1:-8}
batch=${2:-8}
tokens=${FLORENCE_TOKENS:-16}
python=tools/reference/.venv/bin/python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source bench/lib.sh

# Photo-sized JPEGs for the image targets (emb perf generates the same kind when given none).
node --input-type=module -e "
  import sharp from 'sharp';
  for (let i = 0; i < 32; i++) {
    const w = 500, h = 375, px = Buffer.alloc(w * h * 3);
    for (let p = 0; p < px.length; p++) px[p] = (p * 2654435761 + i * 40503) >>> 24;
    await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toFile('$work/img_' + i + '.jpg');
  }"

row() {
  local label=$1 target=$2 pytarget=$3 model=$4 window_ms=$5 extra=("${@:6}")
  local emb py input=()
  # Image targets read the photos; the text target generates rows of token ids (always 64 long).
  [ "$target" != siglip-text ] && input=(--input "$work")
  emb=$(./bin/run.js perf --target "$target" --model "$model" "${input[@]}" --concurrency "$concurrency" --batch-size "$batch" \
    --measurement-interval "$window_ms" --device cpu --json --no-progress "${extra[@]}" \
    | json_field 'd.results[0].throughput.toFixed(2) + " " + (d.results[0].latency.p99Us / 1000).toFixed(0) + " " + (d.results[0].peakRssBytes / 2 ** 20).toFixed(0)')
  py=$("$python" tools/reference/bench_perf.py --target "$pytarget" --model-dir "$model" --images "$work" --concurrency "$concurrency" \
    --batch-size "$batch" --max-new-tokens "$tokens" --warmup-s $((window_ms / 1000 + 5)) --measure-s $((3 * window_ms / 1000)) \
    | json_field 'd.throughput.toFixed(2) + " " + (d.p99_latency_us / 1000).toFixed(0)')
  node -e '
    const [label, c, b, e, p] = process.argv.slice(1);
    const [et, ep, rss] = e.split(" ").map(Number), [pt, pp] = p.split(" ").map(Number);
    console.log(`| ${label} | ${c} | ${b} | ${et.toFixed(2)} | ${ep} | ${rss} | ${pt.toFixed(2)} | ${pp} | ${(et / pt).toFixed(2)}x |`);
  ' "$label" "$concurrency" "$batch" "$emb" "$py"
}

echo "| target | concurrency | max batch | emb infer/s | emb p99 ms | emb peak RSS MiB | reference infer/s | reference p99 ms | emb / reference |"
echo "|---|---|---|---|---|---|---|---|---|"
row "siglip-image, tiny" siglip-image siglip-image test/fixtures/siglip-tiny 3000
row "siglip-text, tiny" siglip-text siglip-text test/fixtures/siglip-tiny 3000
full=models-full/siglip-so400m-patch14-384-random
if [ -d "$full" ]; then
  row "siglip-image, so400m (full size)" siglip-image siglip-image "$full" 20000
  row "siglip-text, so400m (full size)" siglip-text siglip-text "$full" 20000
fi
florence=models-full/florence2-large-random
if [ -d "$florence" ]; then
  row "florence:<CAPTION>, Florence-2-large (full size), $tokens tokens" "florence:<CAPTION>" florence-caption "$florence" 60000 \
    --max-new-tokens "$tokens" --min-new-tokens "$tokens"
fi
