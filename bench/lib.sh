# Shared by the bench scripts: run emb and the Python reference alternately and print a Markdown
# row with the medians. Usage: compare LABEL COUNT BATCH REPS EMB_FN PY_FN
# where EMB_FN and PY_FN are shell functions that print one rate (items per second).
compare() {
  local label=$1 count=$2 batch=$3 reps=$4 emb_fn=$5 py_fn=$6
  local emb_rates=() py_rates=()
  for ((i = 0; i < reps; i++)); do
    emb_rates+=("$($emb_fn)")
    py_rates+=("$($py_fn)")
  done
  node -e '
    const [label, count, batch, reps, e, p] = process.argv.slice(1);
    const median = (xs) => { const s = xs.split(" ").map(Number).sort((a, b) => a - b); return s[(s.length - 1) >> 1]; };
    const emb = median(e), py = median(p);
    console.log("| " + [label, count, batch, reps, emb.toFixed(2), py.toFixed(2), (emb / py).toFixed(2) + "x"].join(" | ") + " |");
  ' "$label" "$count" "$batch" "$reps" "${emb_rates[*]}" "${py_rates[*]}"
}

# Reads a JSON document on stdin and prints the expression of `d` given as $1.
json_field() {
  node -e "const d = JSON.parse(require('fs').readFileSync(0)); console.log($1)"
}
