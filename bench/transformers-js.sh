#!/usr/bin/env bash
# Benchmark: emb against transformers.js (@huggingface/transformers, a TypeScript user's other
# choice) on the same ONNX files, the same photo-sized JPEGs and the same captions, one after the
# other on this machine: SigLIP image embeddings (batch 8) and text embeddings (batch 32), and
# where a Florence-2 export is at hand, greedy `<CAPTION>` (transformers.js has no beam search) of
# exactly FLORENCE_TOKENS new tokens per image, batch 8. Each
# whole process is timed with /usr/bin/time -v (wall clock, peak RSS), model loading included, and
# the vectors are compared (cosine per item: transformers.js resizes with its own bicubic, not
# PIL's, so its image vectors differ from the reference's by that). Prints a Markdown table.
#
# Usage: bash bench/transformers-js.sh [model-dir] [images] [captions]
#   model-dir: default models-full/siglip-so400m-patch14-384-random
#              (tools/reference/export_full.py --only siglip); test/fixtures/siglip-tiny for a quick check
#   images, captions: how many (default 32 and 256)
#   RUNS: repetitions, medians reported (default 1); TJS_VERSION (default 4.3.2)
#   FLORENCE_MODEL: default models-full/florence2-large-random (export_full.py --only florence2),
#     skipped where absent; FLORENCE_IMAGES (default 8), FLORENCE_TOKENS (default 20)
#   needs: npm ci and npm run build (dist/); installs transformers.js into a temporary folder
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models-full/siglip-so400m-patch14-384-random}
image_count=${2:-32}
caption_count=${3:-256}
runs=${RUNS:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source bench/lib.sh

[ -f "$model/onnx/vision_model.onnx" ] || {
  echo "no SigLIP export at $model: tools/reference/.venv/bin/python tools/reference/export_full.py --only siglip" >&2
  exit 1
}
mkdir -p "$work/tjs"
(cd "$work/tjs" && npm init -y > /dev/null && npm install --ignore-scripts --no-audit --no-fund "@huggingface/transformers@${TJS_VERSION:-4.3.2}" > install.log 2>&1) || {
  tail -5 "$work/tjs/install.log" >&2
  exit 1
}
# A folder of links to an export for transformers.js; prints its path.
linked() {
  local dir="$work/tjs-models/$(basename "$1")"
  mkdir -p "$dir"
  for f in "$(cd "$1" && pwd)"/*; do ln -s "$f" "$dir/"; done
  echo "$dir"
}

version=$(node -p "require('$work/tjs/node_modules/@huggingface/transformers/package.json').version")
# transformers.js tokenizes with tokenizer.json alone. The exports here carry the tiny fixture's
# SentencePiece model, whose tokenizer.json is SpmConverter's (it keeps the case and punctuation
# SiglipTokenizer removes); SigLIP repositories made for transformers.js ship the SiglipConverter
# shape, which gives SiglipTokenizer's ids. transformers.js reads the same folder through links,
# with that tokenizer.json where the SentencePiece model is the fixture's.
tjs_model=$(linked "$model")
tokenizer_note="the export's tokenizer.json"
if cmp -s "$model/spiece.model" test/fixtures/siglip-tiny/spiece.model; then
  rm "$tjs_model/tokenizer.json"
  cp test/fixtures/siglip-tokenizers/siglip-converter/tokenizer.json "$tjs_model/tokenizer.json"
  tokenizer_note="SiglipConverter's tokenizer.json for the same SentencePiece model"
fi
make_images "$work/images" "$image_count"
make_captions "$caption_count" > "$work/captions.txt"

# Runs a command under /usr/bin/time; prints "seconds peakMiB".
timed() {
  local log=$1
  shift
  /usr/bin/time -v -o "$log.time" "$@" > "$log.out" 2> "$log.err" || {
    echo "failed: $* ($(tail -3 "$log.err"))" >&2
    exit 1
  }
  node -e '
    const t = require("fs").readFileSync(process.argv[1], "utf8");
    const parts = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (.*)/.exec(t)[1].split(":").map(Number);
    const seconds = parts.reduce((a, x) => a * 60 + x, 0);
    const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(t)[1]);
    console.log(seconds, Math.round(rss / 1024));
  ' "$log.time"
}

# emb's rows (embeddings.npy, in index.jsonl's order) against transformers.js's raw rows, in input order; prints "min median" cosine.
agreement() {
  node --input-type=module -e '
    import { readFileSync } from "node:fs";
    const [folder, raw, kind, inputs] = process.argv.slice(1);
    const npy = readFileSync(folder + "/embeddings.npy");
    const headerLength = npy.readUInt16LE(8);
    const header = npy.subarray(10, 10 + headerLength).toString();
    const [rows, dim] = /\(\s*(\d+),\s*(\d+)\s*\)/.exec(header).slice(1).map(Number);
    const emb = new Float32Array(npy.buffer.slice(npy.byteOffset + 10 + headerLength, npy.byteOffset + 10 + headerLength + rows * dim * 4));
    const tjsBytes = readFileSync(raw);
    const tjs = new Float32Array(tjsBytes.buffer, tjsBytes.byteOffset, tjsBytes.length / 4);
    // emb row of each input, in the order transformers.js read them
    const records = readFileSync(folder + "/index.jsonl", "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const order = kind === "image"
      ? records.map((r, i) => ({ key: r.path.split("/").pop(), row: r.row ?? i })).sort((a, b) => (a.key < b.key ? -1 : 1)).map((r) => r.row)
      : records.map((r, i) => r.row ?? i);
    const cos = order.map((row, i) => {
      let d = 0, a = 0, b = 0;
      for (let k = 0; k < dim; k++) {
        const x = emb[row * dim + k], y = tjs[i * dim + k];
        d += x * y; a += x * x; b += y * y;
      }
      return d / Math.sqrt(a * b);
    }).sort((x, y) => x - y);
    console.log(cos[0].toFixed(6), cos[(cos.length - 1) >> 1].toFixed(6));
  ' "$1" "$2" "$3"
}

median() { tr ' ' '\n' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

row() {
  local task=$1 items=$2 batch=$3
  shift 3
  local emb_s=() emb_m=() tjs_s=() tjs_m=()
  for ((i = 0; i < runs; i++)); do
    rm -rf "$work/emb-out"
    read -r s m < <(timed "$work/emb-$task" ./bin/run.js embed "$task" "$@" --model "$model" --out "$work/emb-out" --batch-size "$batch" --device cpu --json --no-progress)
    emb_s+=("$s") emb_m+=("$m")
    local input=$work/images
    [ "$task" = text ] && input=$work/captions.txt
    read -r s m < <(timed "$work/tjs-$task" env TRANSFORMERS_JS="$work/tjs" node bench/transformers-js.mjs "$task" "$tjs_model" "$input" "$batch" "$work/tjs-$task.f32")
    tjs_s+=("$s") tjs_m+=("$m")
  done
  read -r low mid < <(agreement "$work/emb-out" "$work/tjs-$task.f32" "$task")
  local es em ts tm
  es=$(echo "${emb_s[*]}" | median) em=$(echo "${emb_m[*]}" | median) ts=$(echo "${tjs_s[*]}" | median) tm=$(echo "${tjs_m[*]}" | median)
  node -e '
    const [task, items, batch, runs, es, em, ts, tm, low, mid] = process.argv.slice(1);
    const e = items / es, t = items / ts;
    console.log("| " + [task, items, batch, runs, e.toFixed(2), em, t.toFixed(2), tm, (e / t).toFixed(2) + "x", low + " / " + mid].join(" | ") + " |");
  ' "$task" "$items" "$batch" "$runs" "$es" "$em" "$ts" "$tm" "$low" "$mid"
}

echo "transformers.js $version, $(basename "$model"), Node $(node -v); transformers.js tokenizes with $tokenizer_note"
echo
echo "| task | items | batch | runs | emb items/s | emb peak RSS MiB | transformers.js items/s | transformers.js peak RSS MiB | emb / transformers.js | agreement: cosine min / median, or captions the same |"
echo "|---|---|---|---|---|---|---|---|---|---|"
row image "$image_count" 8 "$work/images"
row text "$caption_count" 32 --file "$work/captions.txt"

florence=${FLORENCE_MODEL:-models-full/florence2-large-random}
[ -f "$florence/onnx/decoder_model_merged.onnx" ] || exit 0
florence_images=${FLORENCE_IMAGES:-8}
tokens=${FLORENCE_TOKENS:-20}
make_images "$work/florence-images" "$florence_images"
# transformers.js's Florence2Processor takes its task prompts from preprocessor_config.json, as
# the transformers.js Florence-2 repositories ship them: the same prompt emb builds
tjs_florence=$(linked "$florence")
rm "$tjs_florence/preprocessor_config.json"
node --import tsx -e '
  const { buildPrompt } = await import("./src/models/florence2/tasks.ts");
  const { readFileSync, writeFileSync } = await import("node:fs");
  const [from, to] = process.argv.slice(1);
  const config = JSON.parse(readFileSync(from, "utf8"));
  Object.assign(config, {
    processor_class: "Florence2Processor",
    task_prompts_without_inputs: { "<CAPTION>": buildPrompt("<CAPTION>") },
    task_prompts_with_input: {},
    tasks_answer_post_processing_type: { "<CAPTION>": "pure_text" },
  });
  writeFileSync(to, JSON.stringify(config, null, 2));
' "$florence/preprocessor_config.json" "$tjs_florence/preprocessor_config.json"
emb_s=() emb_m=() tjs_s=() tjs_m=()
for ((i = 0; i < runs; i++)); do
  rm -rf "$work/emb-florence"
  read -r s m < <(timed "$work/emb-florence" ./bin/run.js florence "<CAPTION>" "$work/florence-images" --model "$florence" --out "$work/emb-florence" \
    --batch-size 8 --num-beams 1 --max-new-tokens "$tokens" --min-new-tokens "$tokens" --device cpu --json --no-progress)
  emb_s+=("$s") emb_m+=("$m")
  read -r s m < <(timed "$work/tjs-florence" env TRANSFORMERS_JS="$work/tjs" node bench/transformers-js.mjs florence "$tjs_florence" "$work/florence-images" 8 "$work/tjs-florence.jsonl" "$tokens")
  tjs_s+=("$s") tjs_m+=("$m")
done
# captions that are the same text on both sides (random weights: a small difference in the resized
# pixels can flip a near-tie in the first step, after which greedy decoding goes its own way)
same=$(node -e '
  const { readFileSync } = require("fs");
  const [emb, tjs] = process.argv.slice(1).map((f) => readFileSync(f, "utf8").trim().split("\n").map((l) => JSON.parse(l)));
  const mine = new Map(emb.map((r) => [r.path.split("/").pop(), r.result["<CAPTION>"].trim()]));
  console.log(tjs.filter((r) => mine.get(r.file) === r.caption.trim()).length + " of " + tjs.length + " captions the same");
' "$work/emb-florence/results.jsonl" "$work/tjs-florence.jsonl")
es=$(echo "${emb_s[*]}" | median) em=$(echo "${emb_m[*]}" | median) ts=$(echo "${tjs_s[*]}" | median) tm=$(echo "${tjs_m[*]}" | median)
node -e '
  const [items, runs, tokens, es, em, ts, tm, same] = process.argv.slice(1);
  const e = items / es, t = items / ts;
  console.log("| " + ["florence <CAPTION>, greedy, " + tokens + " tokens", items, 8, runs, e.toFixed(3), em, t.toFixed(3), tm, (e / t).toFixed(2) + "x", same].join(" | ") + " |");
' "$florence_images" "$runs" "$tokens" "$es" "$em" "$ts" "$tm" "$same"
