#!/usr/bin/env bash
# The real perf_analyzer's --collect-metrics against `emb serve`'s metrics port: what it reads and
# prints (its GPU metric names) from a CPU server, beside emb perf --collect-metrics on the same server.
#
# Usage: bash bench/serve-metrics-perf-analyzer.sh [MODEL_DIR]   (default: the tiny test model)
#   PORT=18200  WINDOW_MS=3000  STABILITY=50 (perf_analyzer's bound, %)  PERF_ANALYZER=tools/serve/perf_analyzer (made by: bash tools/serve/setup.sh)
#   needs: npm run build. Prints both clients' output and CSV.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
model=${1:-test/fixtures/siglip-tiny}
port=${PORT:-18200}
window=${WINDOW_MS:-3000}
stability=${STABILITY:-50}
perf_analyzer=${PERF_ANALYZER:-tools/serve/perf_analyzer}
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# 20 rows of 64 valid ids, right-padded with 1 (as bench/perf-rate.sh).
vocab=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).text_config.vocab_size)' "$model/config.json")
node -e '
  const [vocab, out] = [Number(process.argv[1]), process.argv[2]];
  const data = Array.from({ length: 20 }, (_, i) => {
    const n = 19 + ((i * 7) % 24);
    return { INPUT_IDS: Array.from({ length: 64 }, (_, j) => (j < n ? 2 + ((i * 7919 + j * 104729) % (vocab - 2)) : 1)) };
  });
  require("fs").writeFileSync(out, JSON.stringify({ data }));' "$vocab" "$work/input_ids.json"

node bin/run.js serve --model "siglip=$model" --port "$port" --grpc-port $((port + 1)) --metrics-port $((port + 2)) --no-progress > "$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 600); do
  grep -q "listening on" "$work/serve.log" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.1
done
cat "$work/serve.log"

set -x
"$perf_analyzer" -m siglip_text -u "127.0.0.1:$port" --input-data "$work/input_ids.json" --concurrency-range 2 --stability-percentage "$stability" --max-trials 20 \
  --measurement-interval "$window" --collect-metrics --metrics-url "127.0.0.1:$((port + 2))/metrics" --metrics-interval 500 \
  -f "$work/pa.csv" --verbose-csv 2>&1 || echo "perf_analyzer exit $?"
cat "$work/pa.csv" || true
node bin/run.js perf --url "http://127.0.0.1:$port" --target siglip-text --input "$work/input_ids.json" --concurrency 2 \
  --measurement-interval "$window" --collect-metrics --metrics-url "127.0.0.1:$((port + 2))/metrics" --metrics-interval 500 \
  --csv "$work/emb.csv" --no-progress 2>&1 || echo "emb perf exit $?"
cat "$work/emb.csv" || true
set +x
curl -s "127.0.0.1:$((port + 2))/metrics" | grep -E '^nv_(inference_(request_success|count|exec_count)|cpu)' | grep -E 'siglip_text|cpu'
