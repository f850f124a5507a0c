#!/usr/bin/env bash
# Benchmark: image preparation alone (decode + PIL-exact bicubic resize + normalise), per core.
# emb: one preparation worker thread (bench/prepare.mjs). Python reference: PIL decode + EXIF
# transpose + convert("RGB") + the slow (PIL) SiglipImageProcessor at 384x384 or
# CLIPImageProcessor (Florence2Processor's image part) at 768x768, OMP_NUM_THREADS=1 and one
# torch thread (tools/reference/bench_prepare.py). Both on the same files, alternately; medians.
# Prints a Markdown table row per size and image set for bench/RESULTS.md.
#
# Usage: bash bench/prepare.sh [jpeg-count] [runs]
#   EMB_BEFORE=DIR: also measure another built emb (a checkout with dist/ and node_modules/),
#                   run in the same alternation, as the "before" column.
#   PYTHON: the reference interpreter (default tools/reference/.venv/bin/python).
#   needs: npm run build (dist/), tools/reference/.venv (bash tools/reference/regenerate.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-200}
runs=${2:-5}
python=${PYTHON:-tools/reference/.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source bench/lib.sh

make_images "$work/jpegs" "$count"
ls "$work"/jpegs/*.jpg >"$work/jpegs.txt"
# The photo fixtures PIL can read: every format and layout emb decodes, small images.
node -e '
  const m = require("./test/fixtures/goldens/photos/manifest.json");
  for (const p of m.photos) if (p.pil.readable) console.log("test/fixtures/photos/" + p.file);
' >"$work/photos.txt"

emb_rate() { node bench/prepare.mjs "$1" "$2" "$3" | json_field "d.failed ? NaN : d.images_per_s"; }
py_rate() { OMP_NUM_THREADS=1 "$python" tools/reference/bench_prepare.py --model-dir "$1" --images "$2" | json_field "d.images_per_s"; }

row() {
  local label=$1 model=$2 list=$3
  local before=() after=() ref=()
  for ((i = 0; i < runs; i++)); do
    if [ -n "${EMB_BEFORE:-}" ]; then before+=("$(emb_rate "$EMB_BEFORE" "$model" "$list")"); fi
    after+=("$(emb_rate . "$model" "$list")")
    ref+=("$(py_rate "$model" "$list")")
  done
  node -e '
    const [label, n, runs, b, a, r] = process.argv.slice(1);
    const median = (xs) => { const s = xs.split(" ").map(Number).sort((x, y) => x - y); return s[(s.length - 1) >> 1]; };
    const after = median(a), ref = median(r), before = b ? median(b).toFixed(1) : "-";
    console.log("| " + [label, n, runs, before, after.toFixed(1), ref.toFixed(1), (after / ref).toFixed(2) + "x"].join(" | ") + " |");
  ' "$label" "$(wc -l <"$list")" "$runs" "${before[*]:-}" "${after[*]}" "${ref[*]}"
}

echo "| size, images | files | runs | emb before images/s | emb images/s | Python reference images/s | emb / reference |"
echo "|---|---|---|---|---|---|---|"
row "384x384 (SigLIP), 500x375 JPEGs" test/fixtures/siglip-tiny "$work/jpegs.txt"
row "384x384 (SigLIP), photo fixtures" test/fixtures/siglip-tiny "$work/photos.txt"
row "768x768 (Florence-2), 500x375 JPEGs" test/fixtures/florence2-tiny "$work/jpegs.txt"
row "768x768 (Florence-2), photo fixtures" test/fixtures/florence2-tiny "$work/photos.txt"
