#!/usr/bin/env bash
# Benchmark: emb search and emb dedup on synthetic folders of random unit vectors (1,152
# dimensions, 1% planted near-copies) written in emb embed image's format, at each size given:
# search by row, exact and through the cached HNSW graph (the first HNSW run builds it), per
# query and per run, HNSW recall@10 against exact, and dedup's time and peak resident memory
# (exact at every size, through the HNSW graph up to DEDUP_HNSW_MAX rows). Each timed command runs under
# `flock /tmp/emb-bench.lock` and `/usr/bin/time -v`. Prints one JSON line per measurement.
#
# Usage: bash bench/search-dedup.sh [rows...]        (default: 100000 1000000)
#   EMB: the emb to run (default ./bin/run.js: npm run build first)
#   BENCH_DIR: where the folders are made and kept between runs (default /tmp/emb-bench-search)
#   QUERIES: rows queried per search run (default 100)
#   DEDUP_HNSW_MAX: the largest folder deduplicated through the HNSW graph too (default 100000:
#     at a million rows the graph alone takes over an hour to build)
#   CLUSTERS: rows around that many random centres instead of uniform (default 0: uniform)
#   SKIP_DEDUP=1: search rows only; SKIP_SEARCH=1: dedup rows only
set -euo pipefail
cd "$(dirname "$0")/.."
emb=${EMB:-./bin/run.js}
base=${BENCH_DIR:-/tmp/emb-bench-search}
queries=${QUERIES:-100}
dedup_hnsw_max=${DEDUP_HNSW_MAX:-100000}
sizes=("${@:-100000 1000000}")
read -r -a sizes <<< "${sizes[*]}"
mkdir -p "$base"

# Runs a command timed; prints {"step", "rows", "seconds", "peakRssMiB"} and keeps its stdout in $base/$1.out.
timed() {
  local step=$1 rows=$2
  shift 2
  local log="$base/$step-$rows"
  flock /tmp/emb-bench.lock /usr/bin/time -v -o "$log.time" "$@" > "$log.out" 2> "$log.err" || {
    echo "$step failed: $(tail -3 "$log.err")" >&2
    return 1
  }
  node -e '
    const [step, rows, file] = process.argv.slice(1);
    const t = require("fs").readFileSync(file, "utf8");
    const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (.*)/.exec(t)[1].split(":").map(Number).reduce((a, x) => a * 60 + x, 0);
    const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(t)[1]);
    console.log(JSON.stringify({ step, rows: Number(rows), seconds: wall, peakRssMiB: Math.round(rss / 1024) }));
  ' "$step" "$rows" "$log.time"
}

helper() { node --import tsx bench/search-dedup.mts "$@"; }

for rows in "${sizes[@]}"; do
  dir="$base/synthetic-$rows${CLUSTERS:+-c$CLUSTERS}"
  if [[ ! -f "$dir/run.json" ]]; then
    rm -rf "$dir"
    timed make "$rows" node --import tsx bench/search-dedup.mts make "$dir" "$rows" 1 "${CLUSTERS:-0}"
  fi
  if [ -z "${SKIP_SEARCH:-}" ]; then
    rm -rf "$dir/search-index"
    mapfile -t picked < <(helper queries "$rows" "$queries" 7)
    one=(--row "${picked[0]}")
    many=()
    for r in "${picked[@]}"; do many+=(--row "$r"); done

    timed search-exact-1 "$rows" "$emb" search "$dir" "${one[@]}" -k 10 --index exact --json
    timed search-exact-$queries "$rows" "$emb" search "$dir" "${many[@]}" -k 10 --index exact --json
    cp "$base/search-exact-$queries-$rows.out" "$base/exact-$rows.json"
    # without --json, so stderr has the build's progress (a line a minute)
    EMB_PROGRESS_INTERVAL=60 timed search-hnsw-build "$rows" "$emb" search "$dir" "${one[@]}" -k 10 --index hnsw
    grep -h "HNSW index" "$base/search-hnsw-build-$rows.err" >&2 || true
    timed search-hnsw-1 "$rows" "$emb" search "$dir" "${one[@]}" -k 10 --index hnsw --json
    timed search-hnsw-$queries "$rows" "$emb" search "$dir" "${many[@]}" -k 10 --index hnsw --json
    cp "$base/search-hnsw-$queries-$rows.out" "$base/hnsw-$rows.json"
    echo "{\"step\":\"recall@10\",\"rows\":$rows,\"result\":$(helper recall "$base/exact-$rows.json" "$base/hnsw-$rows.json")}"
  fi

  [ -n "${SKIP_DEDUP:-}" ] && continue
  timed dedup-exact "$rows" "$emb" dedup "$dir" --index exact --json --no-progress
  echo "{\"step\":\"dedup-exact-groups\",\"rows\":$rows,\"result\":$(helper groups "$base/dedup-exact-$rows.out"),\"planted\":$(helper planted "$dir" "$base/dedup-exact-$rows.out")}"
  if ((rows <= dedup_hnsw_max)); then
    timed dedup-hnsw "$rows" "$emb" dedup "$dir" --index hnsw --json --no-progress
    echo "{\"step\":\"dedup-hnsw-groups\",\"rows\":$rows,\"result\":$(helper groups "$base/dedup-hnsw-$rows.out" "$base/dedup-exact-$rows.out"),\"planted\":$(helper planted "$dir" "$base/dedup-hnsw-$rows.out")}"
  fi
done
