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

# Photo-sized JPEGs (500x375, like ImageNet's), each a distinct image. Usage: make_images DIR COUNT
make_images() {
  local dir=$1 count=$2
  mkdir -p "$dir"
  node --input-type=module -e "
    import sharp from 'sharp';
    const [dir, count] = [process.argv[1], Number(process.argv[2])];
    for (let i = 0; i < count; i++) {
      const w = 500, h = 375, px = Buffer.alloc(w * h * 3);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        const o = (y * w + x) * 3;
        px[o] = (x * (i % 7 + 1) + y) & 255; px[o + 1] = (y * (i % 5 + 1) + i) & 255; px[o + 2] = ((x ^ y) + 3 * i) & 255;
      }
      await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toFile(dir + '/img_' + String(i).padStart(5, '0') + '.jpg');
    }" "$dir" "$count"
}

# Captions built from ImageNet's class names in a few templates: realistic lengths, all distinct.
# Usage: make_captions COUNT > FILE
make_captions() {
  node -e '
    const names = require("fs").readFileSync("data/LOC_synset_mapping.txt", "utf8").trim().split("\n").map((l) => l.slice(10).split(", "));
    const templates = ["A photo of a {}.", "a blurry photo of the {} next to a {}", "An origami {} sitting on a wooden table, seen from above.", "{} and {} in the wild"];
    const out = [];
    for (let i = 0; out.length < Number(process.argv[1]); i++) {
      const a = names[(i * 7) % names.length], b = names[(i * 13 + 5) % names.length];
      out.push(templates[i % templates.length].replace("{}", a[i % a.length]).replace("{}", b[0]) + " #" + i);
    }
    console.log(out.join("\n"));
  ' "$1"
}
