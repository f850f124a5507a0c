#!/usr/bin/env bash
# emb perf's request-rate mode against the real perf_analyzer's, both sending the same open-loop
# Poisson load to the same `emb serve` (siglip_text, token-id rows), one after the other at each
# rate: do the two clients measure the same throughput and latency, and keep up with the schedule?
#
# Usage: bash bench/perf-rate.sh [MODEL_DIR]   (default: the tiny test model)
#   RATES="50 100 200"  WINDOW_MS=3000  STABILITY=25  PORT=18100
#   PERF_ANALYZER=tools/serve/perf_analyzer   (made by: bash tools/serve/setup.sh)
#   DISTRIBUTION=poisson|constant (constant: also perf_analyzer's late sends, from its profile export)
#   BUSY=N: N processes spinning on the CPU for the whole run, a loaded machine on purpose
#   EMB_PERF=path of the emb that runs `emb perf` (default: this checkout's bin/run.js), to compare builds
#   needs: npm run build
# perf_analyzer runs with --async (open loop, as emb's), --request-distribution=poisson and the
# same windows and stability bound as emb perf. Prints one Markdown row per rate. "delayed": over
# 1 ms overdue when the client came to the request (perf_analyzer's rule, which it prints only
# above 1%); emb's "late": sent over 1 ms after its time for any reason (perf_analyzer has no such count).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
model=${1:-test/fixtures/siglip-tiny}
read -r -a rates <<< "${RATES:-50 100 200}"
window=${WINDOW_MS:-3000}
stability=${STABILITY:-25}
distribution=${DISTRIBUTION:-poisson}
port=${PORT:-18100}
perf_analyzer=${PERF_ANALYZER:-tools/serve/perf_analyzer}
work=$(mktemp -d)
emb_perf=${EMB_PERF:-bin/run.js}
server_pid=""
busy_pids=()
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  for pid in "${busy_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -n "${KEEP_WORK:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
log() { echo "perf-rate: $*" >&2; }

# 20 rows of 64 valid ids, right-padded with 1, for both clients.
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
log "emb serve up on $port ($model)"
for _ in $(seq 1 "${BUSY:-0}"); do
  node -e 'for (;;);' &
  busy_pids+=($!)
done
log "${#busy_pids[@]} spinning processes; load average: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "| rate/s | perf_analyzer infer/s | p50 ms | p99 ms | delayed | late | emb perf infer/s | p50 ms | p99 ms | delayed | late |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for rate in "${rates[@]}"; do
  "$perf_analyzer" -m siglip_text -u "127.0.0.1:$port" --input-data "$work/input_ids.json" --async \
    --request-rate-range="$rate" --request-distribution="$distribution" --measurement-interval="$window" \
    --stability-percentage="$stability" -f "$work/pa.csv" --profile-export-file "$work/pa-export-$rate.json" > "$work/pa.log" 2>&1 || { tail -n 20 "$work/pa.log" >&2; continue; }
  node "$emb_perf" perf --url "http://127.0.0.1:$port" --target siglip-text --input "$work/input_ids.json" \
    --request-rate-range "$rate" --request-distribution "$distribution" --measurement-interval "$window" \
    --stability-percentage "$stability" --profile-export-file "$work/emb-export-$rate.json" --json > "$work/emb.json" 2> "$work/emb.log" || { tail -n 20 "$work/emb.log" >&2; continue; }
  node -e '
    const fs = require("fs");
    const [rate, csv, paLog, embJson, paExport, embExport, distribution] = process.argv.slice(1);
    const [head, row] = fs.readFileSync(csv, "utf8").trim().split("\n").map((l) => l.split(","));
    const pa = Object.fromEntries(head.map((h, i) => [h, Number(row[i])]));
    // perf_analyzer prints the delayed share only above 1%.
    const delayed = /(\d+(?:\.\d+)?)% of the requests were delayed/.exec(fs.readFileSync(paLog, "utf8"));
    // Late sends from a profile export, for a constant schedule only (its times are known up to
    // where it starts): every send time modulo the interval 1/R; on-time sends sit together at the
    // schedule'"'"'s phase, which is where the residues begin after their largest gap (mod 1/R, so a
    // request missing from the export does not matter); a send over 1 ms past the phase is late.
    const late = (file) => {
      if (distribution !== "constant") return "-";
      const text = fs.readFileSync(file, "utf8").replace(/"timestamp":(\d+)/g, (m, d) => `"timestamp":"${d}"`);
      const experiments = JSON.parse(text).experiments;
      const sent = experiments[experiments.length - 1].requests.map((q) => BigInt(q.timestamp));
      const step = 1e9 / Number(rate);
      const first = sent.reduce((a, b) => (b < a ? b : a));
      const residues = sent.map((t) => Number(t - first) % step).sort((a, b) => a - b);
      let phase = residues[0];
      let gap = residues[0] + step - residues[residues.length - 1];
      residues.forEach((x, i) => {
        if (i > 0 && x - residues[i - 1] > gap) [gap, phase] = [x - residues[i - 1], x];
      });
      const lateness = residues.map((x) => (x - phase + step) % step);
      return ((100 * lateness.filter((ns) => ns > 1e6).length) / lateness.length).toFixed(2) + "%";
    };
    const [r] = JSON.parse(fs.readFileSync(embJson, "utf8")).results;
    const ms = (us) => (us / 1000).toFixed(2);
    console.log("| " + [rate, pa["Inferences/Second"].toFixed(1), ms(pa["p50 latency"]), ms(pa["p99 latency"]), delayed ? delayed[1] + "%" : "<= 1%", late(paExport),
      r.throughput.toFixed(1), ms(r.latency.p50Us), ms(r.latency.p99Us), ((100 * r.delayedRequests) / r.requestCount).toFixed(2) + "%",
      (r.lateRequests === undefined ? "-" : ((100 * r.lateRequests) / r.requestCount).toFixed(2) + "%") + (distribution === "constant" ? ` (export: ${late(embExport)})` : "")].join(" | ") + " |");
  ' "$rate" "$work/pa.csv" "$work/pa.log" "$work/emb.json" "$work/pa-export-$rate.json" "$work/emb-export-$rate.json" "$distribution"
done
