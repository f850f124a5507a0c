#!/usr/bin/env bash
# Benchmark: `emb florence` against the Python reference (HF Florence2Processor +
# Florence2ForConditionalGeneration.generate() on torch CPU, batched) on the same folder of
# photo-sized JPEGs, for the <CAPTION> and <OD> tasks, one after the other on this machine.
# Both sides run beam search (num_beams 3, no_repeat_ngram_size 3, early_stopping) with
# min_new_tokens = max_new_tokens = TOKENS, so every image generates exactly TOKENS tokens on both
# sides whatever the random weights predict. Prints a Markdown table row per model and task for
# bench/RESULTS.md (rates in images per minute: the full-size model runs a few images a minute),
# each run's rate on stderr, and stops if either side generated a different number of tokens.
#
# Usage: bash bench/florence.sh [tiny-count] [full-count] [tokens]   (a count of 0 skips those rows)
#          (TINY_RUNS, FULL_RUNS: repetitions; TINY_BATCH, FULL_BATCH: batch sizes)
#   needs: npm ci (builds dist/), tools/reference/.venv (bash tools/reference/regenerate.sh),
#          and for the full-size rows models-full/ (tools/reference/export_full.py --only florence2).
set -euo pipefail
cd "$(dirname "$0")/.."
tiny_count=${1:-64}
full_count=${2:-4}
tokens=${3:-20}
python=tools/reference/.venv/bin/python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT


source bench/lib.sh

run_pair() {
  local name=$1 model=$2 count=$3 batch=$4 reps=$5 task
  local images="$work/$name-images"
  make_images "$images" "$count"
  emb() {
    rm -rf "$work/$name-out"
    ./bin/run.js florence "$task" "$images" --model "$model" --out "$work/$name-out" --batch-size "$batch" \
      --num-beams 3 --max-new-tokens "$tokens" --min-new-tokens "$tokens" --device cpu --json --no-progress \
      | json_field "(() => {
          if (d.processed !== $count || d.tokens !== $count * $tokens) throw new Error('emb: ' + JSON.stringify(d));
          const perMin = 60 * d.processed / d.seconds;
          console.error('emb $name $task: ' + perMin.toFixed(3) + ' images/min');
          return perMin;
        })()"
  }
  reference() {
    "$python" tools/reference/bench_florence.py --model-dir "$model" --images "$images" --task "$task" \
      --batch-size "$batch" --num-beams 3 --max-new-tokens "$tokens" \
      | json_field "(() => {
          if (d.images !== $count || d.new_tokens_per_image.join() !== '$tokens') throw new Error('reference: ' + JSON.stringify(d));
          const perMin = 60 * d.images_per_s;
          console.error('reference $name $task: ' + perMin.toFixed(3) + ' images/min');
          return perMin;
        })()"
  }
  for task in "<CAPTION>" "<OD>"; do
    # compare's label column also carries the task and token columns.
    compare "$name | \`$task\` | $tokens" "$count" "$batch" "$reps" emb reference
  done
}

echo "| model | task | new tokens | images | batch | runs | emb images/min (median) | Python reference images/min (median) | emb / reference |"
echo "|---|---|---|---|---|---|---|---|---|"
if [ "$tiny_count" -gt 0 ]; then
  run_pair tiny test/fixtures/florence2-tiny "$tiny_count" "${TINY_BATCH:-8}" "${TINY_RUNS:-3}"
fi
if [ "$full_count" -gt 0 ] && [ -d models-full/florence2-large-random ]; then
  run_pair florence2-large models-full/florence2-large-random "$full_count" "${FULL_BATCH:-4}" "${FULL_RUNS:-1}"
fi
