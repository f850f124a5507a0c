#!/usr/bin/env bash
# Benchmark: the same photo-sized JPEGs given to `emb embed image` as a folder, as a
# --files-from list, as one webdataset .tar and as a .tgz, and as two --shard runs one after the
# other. Prints a Markdown table row per input form: the run's images/s (d.seconds: the walk and
# the pipeline) and the command's wall time (model load and the counting pass included).
#
# Usage: bash bench/inputs.sh [count] [runs]   (needs npm ci: dist/ built)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000}
runs=${2:-1}
model=test/fixtures/siglip-tiny
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source bench/lib.sh

make_images "$work/images" "$count"
(cd "$work/images" && tar cf "$work/images.tar" . && tar czf "$work/images.tgz" .)
find "$work/images" -name '*.jpg' | sort > "$work/list.txt"

# Runs emb on the given inputs, prints "images/s wall-seconds".
timed() {
  local out=$1
  shift
  rm -rf "$out"
  local start end
  start=$(date +%s.%N)
  local rate
  rate=$(./bin/run.js embed image "$@" --model "$model" --out "$out" --batch-size 16 --device cpu --json --no-progress |
    json_field "(d.embedded / d.seconds).toFixed(2) + ' ' + d.embedded")
  end=$(date +%s.%N)
  echo "$rate $(node -e "console.log(($end - $start).toFixed(1))")"
}

echo "| input | images | run | images/s (run) | wall s (command) |"
echo "|---|---|---|---|---|"
for ((r = 1; r <= runs; r++)); do
  read -r rate n wall < <(timed "$work/o-folder" "$work/images")
  echo "| folder | $n | $r | $rate | $wall |"
  read -r rate n wall < <(timed "$work/o-list" --files-from "$work/list.txt")
  echo "| --files-from list | $n | $r | $rate | $wall |"
  read -r rate n wall < <(timed "$work/o-tar" "$work/images.tar")
  echo "| one .tar | $n | $r | $rate | $wall |"
  read -r rate n wall < <(timed "$work/o-tgz" "$work/images.tgz")
  echo "| one .tgz | $n | $r | $rate | $wall |"
  read -r rate0 n0 wall0 < <(timed "$work/o-s0" "$work/images" --shard 0/2)
  read -r rate1 n1 wall1 < <(timed "$work/o-s1" "$work/images" --shard 1/2)
  echo "| folder, --shard 0/2 then 1/2 | $n0 + $n1 | $r | $rate0, $rate1 | $wall0 + $wall1 |"
done
