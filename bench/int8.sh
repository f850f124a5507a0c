#!/usr/bin/env bash
# Benchmark: SigLIP towers with dynamically quantised 8-bit weights against fp32, on the same
# inputs, one after the other on this machine. DTYPE picks the quantised graphs: q8 (default; the
# export's *_quantized.onnx, uint8 weights as onnxruntime's quantize_dynamic writes by default) or
# int8 (*_int8.onnx, signed weights: the ones VNNI and AMX kernels take). Activations are quantised
# at run time in both. Measured:
#   - speed: `emb embed image` on generated photo-sized JPEGs (images/s) and `emb embed text` on
#     generated captions (captions/s), fp32 and quantised runs alternating, medians;
#   - drift: cosine similarity of each quantised embedding to its fp32 one, on the test images (real
#     photos from phones and cameras, odd formats) and on the captions.
# Prints Markdown rows for bench/RESULTS.md and the CPU's kernels (what `emb perf` reports).
#
# Usage: [DTYPE=q8|int8] bash bench/int8.sh [model-dir] [images] [captions] [runs]
#   default model: models-full/exports/siglip-so400m-patch14-384 (tools/reference/export_full.py --only siglip)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models-full/exports/siglip-so400m-patch14-384}
image_count=${2:-16}
caption_count=${3:-256}
runs=${4:-3}
quant=${DTYPE:-q8}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source bench/lib.sh

make_images "$work/images" "$image_count"
make_captions "$caption_count" > "$work/captions.txt"

node --input-type=module -e '
  import { cpuKernels, describeCpuKernels } from "./dist/src/runtime/cpu-kernels.js";
  console.log("CPU: " + describeCpuKernels(cpuKernels()));'

images() {
  rm -rf "$work/out-$1"
  ./bin/run.js embed image "$work/images" --model "$model" --dtype "$1" --out "$work/out-$1" --batch-size 8 \
    --device cpu --json --no-progress | json_field "d.embedded / d.seconds"
}
texts() {
  rm -rf "$work/text-$1"
  ./bin/run.js embed text --file "$work/captions.txt" --model "$model" --dtype "$1" --out "$work/text-$1" --batch-size 32 \
    --device cpu --json --no-progress | json_field "d.embedded / d.seconds"
}
fp32_images() { images fp32; }
quant_images() { images "$quant"; }
fp32_texts() { texts fp32; }
quant_texts() { texts "$quant"; }

echo "| tower | inputs | batch | runs | $quant per s (median) | fp32 per s (median) | $quant / fp32 |"
echo "|---|---|---|---|---|---|---|"
compare "vision (images/s)" "$image_count" 8 "$runs" quant_images fp32_images
compare "text (captions/s)" "$caption_count" 32 "$runs" quant_texts fp32_texts

# Drift on what users bring: the fixture photos and test images, and the captions above.
for dtype in fp32 "$quant"; do
  ./bin/run.js embed image test/fixtures/photos test/fixtures/images --model "$model" --dtype "$dtype" \
    --out "$work/drift-$dtype" --batch-size 8 --device cpu --json --no-progress > /dev/null || [ $? -eq 3 ]
done
node --input-type=module -e '
  import { readFileSync } from "node:fs";
  import { parseNpy } from "./dist/src/io/npy.js";
  const [work, quant] = process.argv.slice(1);
  const load = (dir) => {
    const npy = parseNpy(readFileSync(dir + "/embeddings.npy"));
    const rows = readFileSync(dir + "/index.jsonl", "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const d = npy.shape[1];
    return new Map(rows.map((r) => [r.path ?? r.text, npy.data.subarray(r.row * d, (r.row + 1) * d)]));
  };
  const cosine = (a, b) => { let ab = 0, aa = 0, bb = 0; for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; } return ab / Math.sqrt(aa * bb); };
  for (const [label, fp32, q] of [["test images", "drift-fp32", "drift-" + quant], ["captions", "text-fp32", "text-" + quant]]) {
    const a = load(work + "/" + fp32), b = load(work + "/" + q);
    const c = [...a].map(([key, v]) => cosine(v, b.get(key))).sort((x, y) => x - y);
    const mean = c.reduce((s, x) => s + x, 0) / c.length;
    console.log(`drift, ${label}: ${c.length} embeddings, cosine(${quant}, fp32) min ${c[0].toFixed(4)}, median ${c[c.length >> 1].toFixed(4)}, mean ${mean.toFixed(4)}`);
  }' "$work" "$quant"
