#!/usr/bin/env bash
# Runs the Triton deployment's perf_analyzer command lines against a running `emb serve` (HTTP).
#
#   bash tools/serve/run_perf_analyzer.sh [siglip_text] [embed_image] [embed_image_grpc] [florence2]   (default: all)
#
# Environment:
#   PA_URL       HTTP host:port (default localhost:8000)
#   PA_GRPC_URL  gRPC host:port for embed_image_grpc (default localhost:8001, emb serve's --grpc-port)
#   INTERVAL_MS  shorter measurement windows for a quick check (default: the Triton deployment's 20000 / 60000 ms)
#   LOG_DIR      where the logs go (default /tmp/pa-runs): <target>.log, <target>.stats-before.json and
#                <target>.stats.json (the model's statistics before and after the run), summary.txt
#   DATA_DIR     where tools/serve/perf_data.py writes the --input-data files (default /tmp/pa-data)
#
# The Triton deployment's commands, as run here (every one with -u PA_URL, or -u PA_GRPC_URL for gRPC):
#   siglip_text       (000) perf_analyzer -m siglip_text -v --input-data data/siglip_text/input_ids.json
#                       --measurement-mode=time_windows --measurement-interval=20000 --concurrency-range=60 --latency-threshold=1000
#   embed_image_grpc  (003) perf_analyzer -m embed_image -i grpc -v --input-data data/embed_image/base64.json
#                       --measurement-mode=time_windows --measurement-interval=20000 --concurrency-range=60
#                       --latency-threshold=1000 --bls-composing=siglip --request-parameter=base64_encoded:true:bool
#                     as printed: emb serve answers "siglip", the Triton deployment's older name of siglip_vision, the model
#                     embed_image feeds, whose statistics count embed_image's requests.
#   embed_image       the same load over HTTP, where perf_analyzer cannot send request parameters: raw image
#                     bytes (raw.json, see perf_data.py), no --bls-composing, the seed's other settings.
#   florence2         (004) perf_analyzer -m florence2 -v --measurement-mode time_windows --measurement-interval 60000
#                       --concurrency-range 36 --input-data data/load_data_CAPTION.json
# Each run's exit status, throughput lines and the model's /v2/models/<m>/stats before and after go to
# LOG_DIR; summary.txt collects the status and throughput lines. Exits 1 if any run did not exit 0.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
url="${PA_URL:-localhost:8000}"
grpc_url="${PA_GRPC_URL:-localhost:8001}"
logs="${LOG_DIR:-/tmp/pa-runs}"
data="${DATA_DIR:-/tmp/pa-data}"
mkdir -p "$logs"
summary="$logs/summary.txt"

python3 "$here/perf_data.py" --out "$data" >/dev/null || exit 1
if ! curl -sf "http://$url/v2/health/ready" >/dev/null; then
  echo "run_perf_analyzer.sh: no server ready at http://$url (start: node bin/run.js serve --model siglip=test/fixtures/siglip-tiny --model florence2=test/fixtures/florence2-tiny --port 8000)" >&2
  exit 1
fi

models=("$@")
[ "${#models[@]}" -gt 0 ] || models=(siglip_text embed_image embed_image_grpc florence2)
failed=0
for model in "${models[@]}"; do
  case "$model" in
    siglip_text)
      args=(-u "$url" -m siglip_text -v --input-data "$data/siglip_text/input_ids.json" --measurement-mode=time_windows
        "--measurement-interval=${INTERVAL_MS:-20000}" --concurrency-range=60 --latency-threshold=1000) ;;
    embed_image)
      args=(-u "$url" -m embed_image -v --input-data "$data/embed_image/raw.json" --measurement-mode=time_windows
        "--measurement-interval=${INTERVAL_MS:-20000}" --concurrency-range=60 --latency-threshold=1000) ;;
    embed_image_grpc)
      args=(-u "$grpc_url" -i grpc -m embed_image -v --input-data "$data/embed_image/base64.json" --measurement-mode=time_windows
        "--measurement-interval=${INTERVAL_MS:-20000}" --concurrency-range=60 --latency-threshold=1000
        --bls-composing=siglip --request-parameter=base64_encoded:true:bool) ;;
    florence2)
      args=(-u "$url" -m florence2 -v --measurement-mode time_windows --measurement-interval "${INTERVAL_MS:-60000}"
        --concurrency-range 36 --input-data "$data/florence2/load_data_CAPTION.json") ;;
    *) echo "run_perf_analyzer.sh: unknown target $model (siglip_text, embed_image, embed_image_grpc, florence2)" >&2; exit 2 ;;
  esac
  log="$logs/$model.log"
  stats="http://$url/v2/models/${model%_grpc}/stats"
  echo "== $model: perf_analyzer ${args[*]}" | tee -a "$summary"
  curl -s "$stats" >"$logs/$model.stats-before.json"
  start=$(date +%s)
  (cd "$repo" && "$here/perf_analyzer" "${args[@]}") >"$log" 2>&1
  rc=$?
  [ "$rc" -eq 0 ] || failed=1
  curl -s "$stats" >"$logs/$model.stats.json"
  {
    echo "exit $rc after $(( $(date +%s) - start )) s; log $log"
    grep -E "throughput|Throughput|Avg latency|p99 latency|Request count|Failed|error" "$log" | head -20 | sed 's/^/  /'
    echo "  stats: $(cat "$logs/$model.stats.json")"
  } | tee -a "$summary"
done
exit "$failed"
