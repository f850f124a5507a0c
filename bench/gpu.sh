#!/usr/bin/env bash
# Benchmark on an NVIDIA GPU: emb on onnxruntime-node's CUDA provider against the Python reference
# (HF transformers + torch CUDA) on the same GPU, one after the other, with the same inputs:
#   embed image  SigLIP so400m vision tower, fp32 and fp16 (emb's _fp16 graph; torch .half())
#                against tools/reference/bench_embed_image.py --device cuda [--dtype fp16]
#   embed text   SigLIP so400m text tower, fp32, against bench_embed_text.py --device cuda
#   florence     Florence-2-large "<CAPTION>", beam search (3 beams, no_repeat_ngram_size 3) with
#                min = max new tokens on both sides, against bench_florence.py --device cuda
#   serve        `emb serve --device cuda` under perf_analyzer with the Triton deployment's own
#                commands and concurrencies (tools/serve/run_perf_analyzer.sh has them): siglip_text 60
#                (HTTP), embed_image 60 (gRPC, base64 images), florence2 36 (HTTP, "<CAPTION>", TOKENS new
#                tokens per request); one server per target, loading only the model it serves. emb only:
#                no Python server runs.
# Rates are medians of RUNS alternating runs; both sides time from their first batch (no warm-up on
# either side, model loading excluded on both). Preprocessing runs on the CPU on both sides.
#
# Output (stdout): Markdown for bench/RESULTS.md: a heading, the machine (GPU name, driver and CUDA
# version from nvidia-smi, CPU), versions and the exact command, then the tables; every row carries
# the machine and the exact commands that made it. Only numbers measured in this run are printed;
# a step that fails prints no row and the script exits 1. Progress goes to stderr.
#
# Usage: bash bench/gpu.sh
# Environment (defaults in brackets; DEVICE=cpu has its own, smaller ones):
#   SO400M=DIR          SigLIP so400m folder [models-full/siglip-so400m-patch14-384-random, made with
#                       tools/reference/export_full.py --only siglip when missing]; its
#                       onnx/vision_model_fp16.onnx is converted from onnx/vision_model.onnx when missing
#                       (tools/export/onnx_graphs.py's convert_float16, as tools/export/export.py does)
#   FLORENCE=DIR        Florence-2-large folder [models-full/florence2-large-random, made with
#                       export_full.py --only florence2 when missing]
#   IMAGES=DIR          JPEGs for embed image, florence and embed_image [IMAGE_COUNT generated 500x375 JPEGs]
#   IMAGE_COUNT [1024]  TEXT_COUNT [4096]  FLORENCE_COUNT [64] (the first of IMAGES)  TOKENS [20]
#   IMAGE_BATCH [32]  TEXT_BATCH [64]  FLORENCE_BATCH [8]   batch sizes, the same on both sides
#   RUNS [3]            alternating runs per row
#   INTERVAL_MS         perf_analyzer windows [the deployment's: 20000 siglip_text and embed_image, 60000 florence2]
#   PA_ARGS             extra perf_analyzer arguments for every target
#   SERVE_ARGS          extra emb serve flags (e.g. "--batch-size 32 --max-queue-delay-us 2000") [emb's defaults]
#   PORT [8000]         emb serve's HTTP port; PORT+1 gRPC, PORT+2 metrics
#   LOAD_TIMEOUT_S [600] how long emb serve may take to become ready
#   PYTHON              the reference's interpreter [tools/reference/.venv/bin/python, made as
#                       tools/reference/regenerate.sh makes it when missing: about 3 GB]
#   PERF_ANALYZER       [tools/serve/perf_analyzer: bash tools/serve/setup.sh installs it]
#   SKIP_PYTHON=1       no reference runs (their columns say "not run"); exports still need PYTHON
#   SKIP_SERVE=1        no emb serve rows
#   KEEP_WORK=DIR       keep the logs, outputs and perf_analyzer files there
#   DEVICE=cpu          dry run on a machine without a GPU: every step on the CPU, with
#                       test/fixtures/siglip-tiny (a copy without its fp16 graph, so the conversion runs
#                       too) and test/fixtures/florence2-tiny and small counts; its rows say DRY RUN and
#                       are no GPU measurement
# Needs: Linux x64 with an NVIDIA driver and the CUDA 12 and cuDNN 9 libraries (onnxruntime-node's
# CUDA provider), npm ci and npm run build (dist/), python3, curl, and the first time the network
# (NuGet for the CUDA provider, PyPI for the reference venv). The CUDA provider is installed as
# docs/install.md says when node_modules/onnxruntime-node/bin lacks it.

# SC2317: the run functions are called through variables and the trap; SC2016: node's template literals.
# shellcheck disable=SC2317,SC2016
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
log() { echo "gpu.sh: $*" >&2; }
die() { log "$*"; exit 2; }

device=${DEVICE:-cuda}
case "$device" in cuda | cpu) ;; *) die "DEVICE is cuda (the default) or cpu (a dry run without a GPU), not '$device'." ;; esac
if [ "$device" = cuda ] && ! { command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; }; then
  die "no NVIDIA GPU here (nvidia-smi is missing or fails): run this on a machine with one, or set DEVICE=cpu for a dry run on the CPU."
fi
[ -f dist/commands/serve.js ] || die "dist/ is not built: run npm ci (or npm run build) first."

# The exact command, with the settings given to it.
settings=(DEVICE SO400M FLORENCE IMAGES IMAGE_COUNT TEXT_COUNT FLORENCE_COUNT TOKENS IMAGE_BATCH TEXT_BATCH FLORENCE_BATCH
  RUNS INTERVAL_MS PA_ARGS SERVE_ARGS PORT SKIP_PYTHON SKIP_SERVE)
command_line=""
for v in "${settings[@]}"; do
  if [ -n "${!v:-}" ]; then command_line+="$v=$(printf '%q' "${!v}") "; fi
done
command_line+="bash bench/gpu.sh"

if [ "$device" = cpu ]; then
  image_count=${IMAGE_COUNT:-24} text_count=${TEXT_COUNT:-128} florence_count=${FLORENCE_COUNT:-4} tokens=${TOKENS:-8}
  image_batch=${IMAGE_BATCH:-8} text_batch=${TEXT_BATCH:-32} florence_batch=${FLORENCE_BATCH:-2} runs=${RUNS:-1}
  text_window=${INTERVAL_MS:-2000} florence_window=${INTERVAL_MS:-10000}
  # A small CPU holds neither the deployment's 10% stability nor its 1 s latency threshold at these
  # concurrencies (perf_analyzer takes the last of a repeated option).
  read -r -a pa_args <<< "${PA_ARGS:---stability-percentage=100 --max-trials=10 --latency-threshold=60000}"
else
  image_count=${IMAGE_COUNT:-1024} text_count=${TEXT_COUNT:-4096} florence_count=${FLORENCE_COUNT:-64} tokens=${TOKENS:-20}
  image_batch=${IMAGE_BATCH:-32} text_batch=${TEXT_BATCH:-64} florence_batch=${FLORENCE_BATCH:-8} runs=${RUNS:-3}
  text_window=${INTERVAL_MS:-20000} florence_window=${INTERVAL_MS:-60000}
  read -r -a pa_args <<< "${PA_ARGS:-}"
fi
read -r -a serve_args <<< "${SERVE_ARGS:-}"
port=${PORT:-8000}
load_timeout=${LOAD_TIMEOUT_S:-600}
skip_python=${SKIP_PYTHON:-}
python=${PYTHON:-tools/reference/.venv/bin/python}
perf_analyzer=${PERF_ANALYZER:-tools/serve/perf_analyzer}

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then stop_server; fi
  if [ -n "${KEEP_WORK:-}" ]; then mkdir -p "$KEEP_WORK" && cp -r "$work"/. "$KEEP_WORK"/; fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- machine ------------------------------------------------------------------------------------------
cpu_name=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
cpu="${cpu_name:-unknown CPU} x $(nproc) cores"
if [ "$device" = cuda ]; then
  gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)
  gpu_count=$(nvidia-smi --query-gpu=name --format=csv,noheader | wc -l)
  driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -n 1)
  # The CUDA version nvidia-smi prints is the newest the driver supports.
  cuda=$(nvidia-smi | sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' | head -n 1)
  [ "$gpu_count" -eq 1 ] || log "$gpu_count GPUs: both sides use the first (CUDA device 0)"
  machine="$gpu_name, driver $driver, CUDA ${cuda:-unknown}; $cpu"
else
  machine="DRY RUN (DEVICE=cpu, tiny models): no GPU; $cpu"
fi
log "machine: $machine"

# --- onnxruntime-node's CUDA provider, as docs/install.md installs it -----------------------------------
cuda_provider() { find node_modules/onnxruntime-node/bin -name '*onnxruntime_providers_cuda.so' 2>/dev/null | grep -q .; }
if [ "$device" = cuda ]; then
  if ! cuda_provider; then
    log "installing onnxruntime-node's CUDA provider (docs/install.md: fetched from NuGet)"
    ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js >&2
    cuda_provider || die "onnxruntime-node's CUDA provider is still missing after its install script ran (see its output above)."
  fi
  # --device cuda fails with emb's own explanation when the provider cannot load (CUDA 12 / cuDNN 9 missing).
  ./bin/run.js embed image test/fixtures/images/photo_500x375.jpg --model test/fixtures/siglip-tiny --device cuda \
    --out "$work/cuda-check" --no-progress >&2 || die "emb could not run on the CUDA provider (its message is above)."
fi

# --- the reference's Python ---------------------------------------------------------------------------
need_python() {
  if [ ! -x "$python" ]; then
    [ -z "${PYTHON:-}" ] || die "PYTHON=$python is not an executable."
    log "making tools/reference/.venv from tools/reference/requirements.txt, as tools/reference/regenerate.sh does (about 3 GB)"
    python3 -m venv tools/reference/.venv
    tools/reference/.venv/bin/pip install -q -r tools/reference/requirements.txt >&2
  fi
}
torch_versions="not run"
if [ -z "$skip_python" ]; then
  need_python
  torch_versions=$("$python" -c 'import torch, transformers; print(f"torch {torch.__version__} (CUDA {torch.version.cuda}), transformers {transformers.__version__}")') \
    || die "$python cannot import torch and transformers: install tools/reference/requirements.txt into it."
  if [ "$device" = cuda ]; then
    "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' \
      || die "the reference's torch ($python) sees no CUDA GPU: install a CUDA build of torch there, or set SKIP_PYTHON=1."
    torch_gpu=$("$python" -c 'import torch; print(torch.cuda.get_device_name(0))')
    [ "$torch_gpu" = "$gpu_name" ] || log "torch's GPU 0 is '$torch_gpu', nvidia-smi's first '$gpu_name' (CUDA_VISIBLE_DEVICES?)"
  fi
fi

# --- models ---------------------------------------------------------------------------------------------
# export_full.py's folder for a default model that is missing.
export_full() {
  need_python
  log "exporting $2 with random weights (tools/reference/export_full.py --only $1: minutes, about 10 GB of memory)"
  "$python" tools/reference/export_full.py --only "$1" >&2
}
if [ "$device" = cpu ]; then
  if [ -n "${SO400M:-}" ]; then so400m=$SO400M; else
    so400m=$work/siglip-tiny
    cp -r test/fixtures/siglip-tiny "$so400m"
    rm "$so400m/onnx/vision_model_fp16.onnx"
  fi
  florence=${FLORENCE:-test/fixtures/florence2-tiny}
else
  so400m=${SO400M:-models-full/siglip-so400m-patch14-384-random}
  florence=${FLORENCE:-models-full/florence2-large-random}
  if [ -z "${SO400M:-}" ] && [ ! -f "$so400m/config.json" ]; then export_full siglip "$so400m"; fi
  if [ -z "${FLORENCE:-}" ] && [ ! -f "$florence/config.json" ]; then export_full florence2 "$florence"; fi
fi
[ -f "$so400m/config.json" ] || die "SO400M=$so400m has no config.json (a SigLIP folder: config.json and onnx/)."
[ -f "$florence/config.json" ] || die "FLORENCE=$florence has no config.json (a Florence-2 folder in the four-part layout)."
if [ ! -f "$so400m/onnx/vision_model_fp16.onnx" ]; then
  need_python
  log "converting $so400m/onnx/vision_model.onnx to float16 (vision_model_fp16.onnx, for --dtype fp16)"
  "$python" - "$so400m/onnx/vision_model.onnx" "$so400m/onnx/vision_model_fp16.onnx" <<'PY' >&2
import sys
from pathlib import Path
sys.path.insert(0, "tools/export")
import onnx_graphs
onnx_graphs.convert_float16(Path(sys.argv[1]), Path(sys.argv[2]))
PY
fi
# How the models are named in the rows.
so400m_shown=$so400m florence_shown=$florence
if [ "$device" = cpu ] && [ -z "${SO400M:-}" ]; then so400m_shown="test/fixtures/siglip-tiny"; fi

# --- inputs -----------------------------------------------------------------------------------------------
if [ -n "${IMAGES:-}" ]; then
  images=$IMAGES images_shown=$IMAGES
else
  images=$work/images images_shown="IMAGES"
  log "making $image_count photo-sized JPEGs"
  make_images "$images" "$image_count"
fi
mapfile -t image_files < <(find "$images" \( -type f -o -type l \) \( -iname '*.jpg' -o -iname '*.jpeg' \) | sort)
[ "${#image_files[@]}" -gt 0 ] || die "no JPEGs in $images."
image_count=${#image_files[@]}
[ "$florence_count" -le "$image_count" ] || florence_count=$image_count
# Florence-2 captions the first FLORENCE_COUNT images (links, so both sides read the same files).
mkdir -p "$work/florence-images"
for f in "${image_files[@]:0:florence_count}"; do ln -s "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")" "$work/florence-images/"; done
make_captions "$text_count" > "$work/captions.txt"

# --- rows: emb against the reference -----------------------------------------------------------------
# median of the numbers in $1, or "-" for none
median() { node -e 'const s = process.argv[1].split(" ").filter(Boolean).map(Number).sort((a, b) => a - b); console.log(s.length ? s[(s.length - 1) >> 1].toFixed(2) : "-")' "$1"; }
status=0
# pair WHAT MODEL UNIT COUNT BATCH EMB_FN PY_FN EMB_SHOWN PY_SHOWN: RUNS alternating runs, one row of medians.
pair() {
  local what=$1 model=$2 unit=$3 count=$4 batch=$5 emb_fn=$6 py_fn=$7 emb_shown=$8 py_shown=$9 e="" p="" r i
  for ((i = 0; i < runs; i++)); do
    if ! r=$($emb_fn); then log "$what: emb failed"; status=1; return; fi
    log "$what, $model: emb $r $unit"
    e+=" $r"
    if [ -z "$skip_python" ]; then
      if ! r=$($py_fn); then log "$what: the reference failed"; status=1; return; fi
      log "$what, $model: reference $r $unit"
      p+=" $r"
    fi
  done
  local em pm ratio
  em=$(median "$e")
  if [ -n "$skip_python" ]; then pm="not run" ratio="-" py_shown="(SKIP_PYTHON=1)"; else
    pm=$(median "$p")
    ratio=$(node -e 'console.log((process.argv[1] / process.argv[2]).toFixed(2) + "x")' "$em" "$pm")
  fi
  echo "| $what | $model | $unit | $count | $batch | $runs | $em | $pm | $ratio | $machine | \`$emb_shown\`; \`$py_shown\` |"
}

emb_image() {
  rm -rf "$work/out"
  ./bin/run.js embed image "$images" --model "$so400m" --dtype "$dtype" --device "$device" --batch-size "$image_batch" \
    --out "$work/out" --json --no-progress | json_field "d.embedded / d.seconds"
}
py_image() {
  "$python" tools/reference/bench_embed_image.py --model-dir "$so400m" --images "$images" --batch-size "$image_batch" \
    --device "$device" --dtype "$dtype" | json_field "d.images_per_s"
}
emb_text() {
  rm -rf "$work/out"
  ./bin/run.js embed text --file "$work/captions.txt" --model "$so400m" --dtype fp32 --device "$device" \
    --batch-size "$text_batch" --out "$work/out" --json --no-progress | json_field "d.embedded / d.seconds"
}
py_text() {
  "$python" tools/reference/bench_embed_text.py --model-dir "$so400m" --captions "$work/captions.txt" \
    --batch-size "$text_batch" --device "$device" | json_field "d.captions_per_s"
}
# Rates in images per minute; a side that generated another number of tokens stops the row.
emb_florence() {
  rm -rf "$work/out"
  ./bin/run.js florence "<CAPTION>" "$work/florence-images" --model "$florence" --device "$device" \
    --batch-size "$florence_batch" --num-beams 3 --max-new-tokens "$tokens" --min-new-tokens "$tokens" \
    --out "$work/out" --json --no-progress \
    | json_field "(() => {
        if (d.processed !== $florence_count || d.tokens !== $florence_count * $tokens) throw new Error('emb: ' + JSON.stringify(d));
        return 60 * d.processed / d.seconds;
      })()"
}
py_florence() {
  "$python" tools/reference/bench_florence.py --model-dir "$florence" --images "$work/florence-images" --task "<CAPTION>" \
    --batch-size "$florence_batch" --num-beams 3 --max-new-tokens "$tokens" --device "$device" \
    | json_field "(() => {
        if (d.images !== $florence_count || d.new_tokens_per_image.join() !== '$tokens') throw new Error('reference: ' + JSON.stringify(d));
        return 60 * d.images_per_s;
      })()"
}

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
ort_version=$(node -p 'require("onnxruntime-node/package.json").version')
if [ "$device" = cuda ]; then
  echo "## emb on the GPU vs HF transformers + torch CUDA on the same GPU ($(date +%F))"
else
  echo "## DRY RUN (DEVICE=cpu): bench/gpu.sh's steps on the CPU with tiny models ($(date +%F)); no GPU numbers"
fi
echo
echo "Machine: $machine. emb $commit, Node $(node -v), onnxruntime-node $ort_version ($device provider); reference: $torch_versions."
echo "Command: \`$command_line\`. $runs alternating run(s) per row, medians; both sides time from their first"
echo "batch (no warm-up) and exclude model loading; preprocessing on the CPU on both sides. IMAGES: $image_count"
echo "JPEGs ($images_shown), the first $florence_count of them for Florence-2; captions: $text_count made by bench/lib.sh's make_captions."
echo
echo "| what | model | unit | items | batch | runs | emb (median) | Python reference (median) | emb / reference | machine | commands |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for dtype in fp32 fp16; do
  pair "embed image" "$so400m_shown, $dtype" "images/s" "$image_count" "$image_batch" emb_image py_image \
    "emb embed image $images_shown --model $so400m_shown --dtype $dtype --device $device --batch-size $image_batch --out OUT --json --no-progress" \
    "python tools/reference/bench_embed_image.py --model-dir $so400m_shown --images $images_shown --batch-size $image_batch --device $device --dtype $dtype"
done
pair "embed text" "$so400m_shown, fp32" "captions/s" "$text_count" "$text_batch" emb_text py_text \
  "emb embed text --file CAPTIONS --model $so400m_shown --dtype fp32 --device $device --batch-size $text_batch --out OUT --json --no-progress" \
  "python tools/reference/bench_embed_text.py --model-dir $so400m_shown --captions CAPTIONS --batch-size $text_batch --device $device"
pair "florence \`<CAPTION>\`, $tokens new tokens" "$florence_shown, fp32" "images/min" "$florence_count" "$florence_batch" emb_florence py_florence \
  "emb florence \"<CAPTION>\" FIRST_${florence_count}_IMAGES --model $florence_shown --device $device --batch-size $florence_batch --num-beams 3 --max-new-tokens $tokens --min-new-tokens $tokens --out OUT --json --no-progress" \
  "python tools/reference/bench_florence.py --model-dir $florence_shown --images FIRST_${florence_count}_IMAGES --task \"<CAPTION>\" --batch-size $florence_batch --num-beams 3 --max-new-tokens $tokens --device $device"

# --- emb serve under perf_analyzer --------------------------------------------------------------------
stop_server() {
  kill -TERM "$server_pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 600; i++)); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# The first GPU's used memory (MiB). By the whole GPU rather than by process: in a container
# nvidia-smi lists host pids, which match no pid here.
gpu_used_mib() { nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 2>/dev/null | tr -d ' '; }
# Appends gpu_used_mib to file $2 once a second while process $1 lives.
sample_gpu_memory() {
  while kill -0 "$1" 2>/dev/null; do
    gpu_used_mib >> "$2" || true
    sleep 1
  done
}

# serve_row TARGET MODEL_FLAG PA_ARGS...: starts emb serve with one model (and serve_extra's flags), runs
# perf_analyzer, prints a row.
serve_extra=()
serve_row() {
  local target=$1 model_flag=$2
  shift 2
  local logfile="$work/serve-$target.log" csv="$work/$target.csv" pa_log="$work/$target.perf_analyzer.log"
  if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/v2/health/live"; then
    log "port $port is already in use: set PORT"; status=1; return
  fi
  local serve_cmd=(node bin/run.js serve --model "$model_flag" --device "$device" --port "$port" --grpc-port $((port + 1))
    --metrics-port $((port + 2)) --no-progress "${serve_extra[@]}" "${serve_args[@]}")
  log "$target: ${serve_cmd[*]}"
  local gpu_before=""
  if [ "$device" = cuda ]; then gpu_before=$(gpu_used_mib); fi
  "${serve_cmd[@]}" > "$logfile" 2>&1 &
  server_pid=$!
  local start=$SECONDS model=${target}
  until curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port/v2/models/$model/ready"; do
    if ! kill -0 "$server_pid" 2>/dev/null || ((SECONDS - start > load_timeout)); then
      log "$target: emb serve did not become ready; last lines of its log:"
      tail -n 20 "$logfile" >&2
      stop_server; status=1; return
    fi
    sleep 0.5
  done
  log "$target: ready after $((SECONDS - start)) s; $perf_analyzer $*"
  local sampler=""
  if [ "$device" = cuda ]; then
    sample_gpu_memory "$server_pid" "$work/$target.gpu-mib" &
    sampler=$!
  fi
  local ok=1 pa_shown="perf_analyzer $* -f CSV ${pa_args[*]}" serve_shown="emb ${serve_cmd[*]:2}"
  pa_shown=${pa_shown//$work/WORK} serve_shown=${serve_shown//$so400m/$so400m_shown}
  "$perf_analyzer" "$@" -f "$csv" "${pa_args[@]}" > "$pa_log" 2>&1 || ok=0
  local rss_kib
  rss_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status" 2>/dev/null || echo 0)
  stop_server
  if [ -n "$sampler" ]; then kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; fi
  if [ "$ok" = 0 ] || [ ! -s "$csv" ]; then
    log "$target: perf_analyzer failed; last lines of its output and of the server's log:"
    tail -n 20 "$pa_log" >&2
    tail -n 20 "$logfile" >&2
    status=1; return
  fi
  grep -E "Throughput|p99 latency|Avg latency" "$pa_log" | sed "s/^/gpu.sh: $target:   /" >&2 || true
  local gpu_mib="-"
  if [ -s "$work/$target.gpu-mib" ] && [ -n "$gpu_before" ]; then
    gpu_mib=$(($(sort -n "$work/$target.gpu-mib" | tail -n 1) - gpu_before))
  fi
  # perf_analyzer's CSV: a header, then one row per concurrency (latencies in microseconds).
  node -e '
    const [csv, target, machine, rss, gpu, serve, pa] = process.argv.slice(1);
    const [h, r] = require("fs").readFileSync(csv, "utf8").trim().split("\n").map((l) => l.split(","));
    const v = (n) => Number(r[h.indexOf(n)]);
    const ms = (n) => (v(n) / 1000).toFixed(1);
    console.log(`| ${target} | ${v("Concurrency")} | ${v("Inferences/Second").toFixed(2)} | ${ms("p50 latency")} | ${ms("p99 latency")} | ${Math.round(rss / 1024)} | ${gpu} | ${machine} | \`${serve}\`; \`${pa}\` |`);
  ' "$csv" "$target" "$machine" "$rss_kib" "$gpu_mib" "$serve_shown" "$pa_shown"
}

if [ -z "${SKIP_SERVE:-}" ]; then
  [ -x "$perf_analyzer" ] || die "$perf_analyzer not found: run bash tools/serve/setup.sh, or set PERF_ANALYZER."
  # The deployment's --input-data formats (tools/serve/perf_data.py), from this run's first 16 images.
  python3 tools/serve/perf_data.py --out "$work/pa-data" --model "$so400m" --images "${image_files[@]:0:16}" >&2
  echo
  echo "\`emb serve\` under perf_analyzer, the Triton deployment's commands (one server per target, loading only its model;"
  echo "no Python server runs here, so these rows have no reference column; florence2 generates $tokens new tokens per request)."
  echo "Peak RSS: the server's VmHWM; GPU memory: the most the GPU's used memory rose above its level before the server"
  echo "started (nvidia-smi, each second; other work on the GPU counts)."
  echo
  echo "| target | concurrency | emb infer/s | p50 ms | p99 ms | peak RSS MiB | GPU memory MiB | machine | commands |"
  echo "|---|---|---|---|---|---|---|---|---|"
  serve_row siglip_text "siglip=$so400m" -u "127.0.0.1:$port" -m siglip_text -v --input-data "$work/pa-data/siglip_text/input_ids.json" \
    --measurement-mode=time_windows "--measurement-interval=$text_window" --concurrency-range=60 --latency-threshold=1000
  serve_row embed_image "siglip=$so400m" -u "127.0.0.1:$((port + 1))" -i grpc -m embed_image -v \
    --input-data "$work/pa-data/embed_image/base64.json" --measurement-mode=time_windows "--measurement-interval=$text_window" \
    --concurrency-range=60 --latency-threshold=1000 --bls-composing=siglip --request-parameter=base64_encoded:true:bool
  # Random weights never end a caption: every request generates exactly TOKENS new tokens, as in the florence row.
  serve_extra=(--max-new-tokens "$tokens" --min-new-tokens "$tokens")
  serve_row florence2 "florence2=$florence" -u "127.0.0.1:$port" -m florence2 -v --measurement-mode time_windows \
    --measurement-interval "$florence_window" --concurrency-range 36 --input-data "$work/pa-data/florence2/load_data_CAPTION.json"
fi
exit "$status"
