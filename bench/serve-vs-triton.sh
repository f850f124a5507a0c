#!/usr/bin/env bash
# Benchmark: `emb serve` against the real Triton Inference Server (nvidia-pytriton's tritonserver, serving the
# same HF SigLIP models on torch CPU: bench/triton/serve_siglip.py), both measured by the real perf_analyzer
# with the identical command line, one server after the other on this machine, with the same dynamic batching
# (max batch size and max queue delay). Prints one Markdown table row per target for bench/RESULTS.md.
#
# Usage: bash bench/serve-vs-triton.sh [MODEL_DIR] [TARGET...]
#   MODEL_DIR  a SigLIP folder both servers can load (config.json + onnx/; default test/fixtures/siglip-tiny),
#              e.g. models-full/exports/siglip-so400m-patch14-384
#   TARGET     siglip_text and/or siglip_vision (default: both)
# Environment:
#   CONCURRENCY=8  BATCH=8  QUEUE_DELAY_US=100000   perf_analyzer concurrency; both servers' batching
#   WINDOW_MS      perf_analyzer --measurement-interval for every target (default: 20000 text / 60000 vision
#                  for a full-size model, 2000 for a tiny one; TEXT_WINDOW_MS / VISION_WINDOW_MS per target)
#   PORT=8000      HTTP port of the server under test (both servers also take PORT+1 for gRPC)
#   IMAGES=DIR     JPEGs for siglip_vision (default: 16 generated 500x375 photo-sized JPEGs)
#   PA_ARGS        extra perf_analyzer arguments for both servers (e.g. "--stability-percentage=20 --max-trials=20")
#   LOAD_TIMEOUT_S=1800  how long a server may take to become ready
#   KEEP_LOGS=DIR  keep the server logs, perf_analyzer output and input data there
#   needs: npm run build (dist/), bash tools/serve/setup.sh (perf_analyzer), bash bench/triton/setup.sh (Triton)
#
# Each server loads both SigLIP towers for every target (emb serve --model siglip always does), so load times
# and RSS compare like with like; a full-size Triton start (random init + warm-up) takes minutes on 2 cores.
# Peak RSS is VmHWM from /proc/<pid>/status at the end of the measurement, summed over the server's process
# tree: for Triton the Python process that runs the models + tritonserver + its Python backend stubs (shared
# memory they all map is counted in each), for emb serve the one node process.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-test/fixtures/siglip-tiny}
shift || true
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(siglip_text siglip_vision)
concurrency=${CONCURRENCY:-8}
batch=${BATCH:-8}
delay_us=${QUEUE_DELAY_US:-100000}
port=${PORT:-8000}
load_timeout=${LOAD_TIMEOUT_S:-1800}
read -r -a pa_args <<< "${PA_ARGS:-}"
triton_python=bench/triton/.venv/bin/python
perf_analyzer=tools/serve/perf_analyzer

for t in "${targets[@]}"; do
  case "$t" in siglip_text | siglip_vision) ;; *) echo "serve-vs-triton: unknown target $t (siglip_text or siglip_vision)" >&2; exit 2 ;; esac
done
[ -f "$model/config.json" ] || { echo "serve-vs-triton: $model/config.json not found" >&2; exit 2; }
[ -x "$triton_python" ] || { echo "serve-vs-triton: $triton_python missing: run bash bench/triton/setup.sh" >&2; exit 2; }
[ -x tools/serve/.venv/bin/python ] || { echo "serve-vs-triton: tools/serve/.venv missing: run bash tools/serve/setup.sh" >&2; exit 2; }
[ -f dist/commands/serve.js ] || { echo "serve-vs-triton: dist/ not built: run npm run build" >&2; exit 2; }

work=$(mktemp -d)
# The server under test runs inside measure's command substitution: its pid is kept in a file for cleanup.
cleanup() {
  [ -f "$work/server.pid" ] && stop_server "$(cat "$work/server.pid")" || true
  if [ -n "${KEEP_LOGS:-}" ]; then mkdir -p "$KEEP_LOGS" && cp -r "$work"/. "$KEEP_LOGS"/; fi
  rm -rf "$work"
}
trap cleanup EXIT
source bench/lib.sh
log() { echo "serve-vs-triton: $*" >&2; }

# --- input data, in the Triton deployment's perf_analyzer format -------------------------------------------------------
# The vocabulary and whether this is a full-size model come from config.json.
read -r vocab full < <(node -e '
  const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(c.text_config.vocab_size, (c.vision_config.hidden_size >= 512 ? 1 : 0));' "$model/config.json")

# siglip_text: 20 rows of 64 ids, right-padded with 1 (as the Triton deployment's data/siglip_text/input_ids.json).
node -e '
  const [vocab, out] = [Number(process.argv[1]), process.argv[2]];
  let s = 12345;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const data = [];
  for (let i = 0; i < 20; i++) {
    const n = 19 + ((i * 7) % 24);  // 19..42 real tokens, then 22..45 ones
    const ids = Array.from({ length: 64 }, (_, j) => (j < n ? 2 + Math.floor(rand() * (vocab - 2)) : 1));
    data.push({ INPUT_IDS: ids });
  }
  require("fs").writeFileSync(out, JSON.stringify({ data }));' "$vocab" "$work/siglip_text.json"

# siglip_vision: one JPEG per row as {"b64": ...}. perf_analyzer sends the decoded b64 bytes as the tensor's raw
# binary data unchanged, and a BYTES tensor's binary form is <uint32 little-endian length><bytes> per element,
# so each b64 holds that 4-byte length followed by the JPEG: the server then receives exactly the JPEG's bytes.
if [ -n "${IMAGES:-}" ]; then
  images=$IMAGES
else
  images=$work/images
  make_images "$images" 16
fi
node -e '
  const fs = require("fs"), path = require("path");
  const [dir, out] = process.argv.slice(1);
  const files = fs.readdirSync(dir).filter((f) => /\.jpe?g$/i.test(f)).sort();
  if (files.length === 0) throw new Error(`no JPEGs in ${dir}`);
  const data = files.map((f) => {
    const jpeg = fs.readFileSync(path.join(dir, f)), length = Buffer.alloc(4);
    length.writeUInt32LE(jpeg.length);
    return { INPUT_IMAGE: { b64: Buffer.concat([length, jpeg]).toString("base64") } };
  });
  fs.writeFileSync(out, JSON.stringify({ data }));
  const kb = files.map((f) => fs.statSync(path.join(dir, f)).size / 1024);
  console.error(`serve-vs-triton: ${files.length} JPEGs from ${dir}, ${Math.min(...kb).toFixed(0)}-${Math.max(...kb).toFixed(0)} KiB`);
' "$images" "$work/siglip_vision.json"

# --- servers -----------------------------------------------------------------------------------------------
# The process and all its descendants.
tree_pids() {
  local pid=$1 child
  echo "$pid"
  for child in $(pgrep -P "$pid" 2>/dev/null || true); do tree_pids "$child"; done
}

# Peak RSS (VmHWM, KiB) summed over the process tree; also logs each process's share.
peak_rss_kib() {
  local total=0 pid kib name
  for pid in $(tree_pids "$1"); do
    kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    name=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | cut -c1-80 || true)
    [ -n "$kib" ] || continue
    log "  VmHWM $((kib / 1024)) MiB  pid $pid  $name"
    total=$((total + kib))
  done
  echo "$total"
}

# SIGTERM, then wait for the whole tree; SIGKILL (by pid) whatever is left after 60 s.
stop_server() {
  local pid=$1 pids p i
  pids=$(tree_pids "$pid")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 600; i++)); do
    local alive=0
    for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
  wait "$pid" 2>/dev/null || true
  rm -f "$work/server.pid"
}

port_in_use() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/v2/health/live"; }

# Waits until model $2 on the server (pid $1) answers ready; prints the seconds it took.
wait_ready() {
  local pid=$1 target=$2 logfile=$3 start=$SECONDS
  until curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port/v2/models/$target/ready"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "server exited before becoming ready; last lines of $logfile:"
      tail -n 30 "$logfile" >&2
      return 1
    fi
    if ((SECONDS - start > load_timeout)); then
      log "server not ready after ${load_timeout}s; last lines of $logfile:"
      tail -n 30 "$logfile" >&2
      return 1
    fi
    sleep 0.5
  done
  echo $((SECONDS - start))
}

# measure NAME TARGET WINDOW_MS COMMAND...: starts the server, runs perf_analyzer, reads peak RSS, stops it.
# Prints "infer/s p99_ms rss_mib load_s", or "- - - -" when something failed.
measure() {
  local name=$1 target=$2 window=$3
  shift 3
  local logfile="$work/$name-$target.server.log" csv="$work/$name-$target.csv" pa_log="$work/$name-$target.perf_analyzer.log"
  if port_in_use "$port"; then
    log "port $port is already in use: set PORT"
    echo "- - - -"
    return
  fi
  log "$name: starting: $*"
  "$@" > "$logfile" 2>&1 &
  local server_pid=$!
  echo "$server_pid" > "$work/server.pid"
  local load_s
  if ! load_s=$(wait_ready "$server_pid" "$target" "$logfile"); then
    stop_server "$server_pid"
    echo "- - - -"
    return
  fi
  log "$name: $target ready after ${load_s}s; perf_analyzer -m $target, concurrency $concurrency, ${window} ms windows"
  local pa_ok=1
  "$perf_analyzer" -m "$target" -u "127.0.0.1:$port" --input-data "$work/$target.json" \
    --measurement-mode=time_windows --measurement-interval="$window" --concurrency-range="$concurrency" \
    -f "$csv" "${pa_args[@]}" > "$pa_log" 2>&1 || pa_ok=0
  local rss
  rss=$(peak_rss_kib "$server_pid")
  stop_server "$server_pid"
  if [ "$pa_ok" -eq 0 ] || [ ! -s "$csv" ]; then
    log "$name: perf_analyzer failed; last lines of its output and of the server log:"
    tail -n 20 "$pa_log" >&2
    tail -n 20 "$logfile" >&2
    echo "- - $((rss / 1024)) $load_s"
    return
  fi
  grep -E "Throughput|p99 latency|Avg latency|Server:|Successful" "$pa_log" | sed 's/^/    /' >&2 || true
  # perf_analyzer's CSV: header row, then one row per concurrency (latencies in microseconds).
  node -e '
    const [h, r] = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(","));
    const v = (n) => Number(r[h.indexOf(n)]);
    console.log(v("Inferences/Second").toFixed(2), (v("p99 latency") / 1000).toFixed(0), process.argv[2], process.argv[3]);
  ' "$csv" "$((rss / 1024))" "$load_s"
}

row() {
  local target=$1 window=$2 triton emb
  triton=$(measure triton "$target" "$window" "$triton_python" bench/triton/serve_siglip.py --model-dir "$model" \
    --http-port "$port" --max-batch-size "$batch" --max-queue-delay-us "$delay_us")
  emb=$(measure emb "$target" "$window" node bin/run.js serve --model "siglip=$model" --port "$port" --grpc-port $((port + 1)) --metrics-port $((port + 2)) \
    --batch-size "$batch" --max-queue-delay-us "$delay_us" --no-progress)
  log "$target: Triton (infer/s p99_ms rss_mib load_s) $triton | emb $emb"
  node -e '
    const [target, model, c, b, d, t, e] = process.argv.slice(1);
    const [tt, tp, tr] = t.split(" "), [et, ep, er] = e.split(" ");
    const ok = (x) => x !== "-" && Number.isFinite(Number(x));
    const ratio = (a, b) => (ok(a) && ok(b) && Number(b) > 0 ? (Number(a) / Number(b)).toFixed(2) + "x" : "-");
    console.log(`| ${target}, ${model} | ${c} | ${b} | ${d} | ${tt} | ${tp} | ${tr} | ${et} | ${ep} | ${er} | ${ratio(et, tt)} | ${ratio(ep, tp)} |`);
  ' "$target" "$(basename "$model")" "$concurrency" "$batch" "$delay_us" "$triton" "$emb"
  [[ "$triton $emb" != *"-"* ]]
}

echo "| target, model | concurrency | max batch | queue delay us | Triton infer/s | Triton p99 ms | Triton peak RSS MiB | emb infer/s | emb p99 ms | emb peak RSS MiB | emb / Triton infer/s | emb / Triton p99 |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
status=0
for target in "${targets[@]}"; do
  if [ "$target" = siglip_text ]; then default_window=$([ "$full" = 1 ] && echo 20000 || echo 2000); window=${TEXT_WINDOW_MS:-${WINDOW_MS:-$default_window}}
  else default_window=$([ "$full" = 1 ] && echo 60000 || echo 2000); window=${VISION_WINDOW_MS:-${WINDOW_MS:-$default_window}}
  fi
  row "$target" "$window" || status=1
done
exit "$status"
