// The transformers.js side of bench/transformers-js.sh: what a TypeScript user writes with
// @huggingface/transformers to embed a folder of images or a file of captions with a SigLIP export
// (AutoProcessor + SiglipVisionModel, AutoTokenizer + SiglipTextModel, in batches), on the same
// ONNX files emb reads. Writes the vectors as raw float32 rows to OUT and prints one JSON line:
// {items, seconds, perSecond} (seconds from before loading the model to the last vector).
//
// Usage: node bench/transformers-js.mjs image|text MODEL_DIR INPUT BATCH OUT
//   image: INPUT is a folder of images (sorted by name, as emb orders them)
//   text: INPUT is a file of captions, one per line
//   TRANSFORMERS_JS: the folder holding node_modules/@huggingface/transformers
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";

const [mode, modelDir, input, batchText, out] = process.argv.slice(2);
const batch = Number(batchText);
const require = createRequire(join(resolve(process.env.TRANSFORMERS_JS ?? "."), "package.json"));
const tjs = await import(require.resolve("@huggingface/transformers"));
tjs.env.allowRemoteModels = false;
tjs.env.localModelPath = `${dirname(resolve(modelDir))}/`;
const name = basename(resolve(modelDir));
// full-size exports keep their weights beside each graph, in <graph>.onnx_data
const graph = mode === "image" ? "vision_model" : "text_model";
const modelOptions = { dtype: "fp32", device: "cpu", use_external_data_format: existsSync(join(modelDir, "onnx", `${graph}.onnx_data`)) };

const started = performance.now();
const rows = [];
let items = 0;
if (mode === "image") {
  const processor = await tjs.AutoProcessor.from_pretrained(name);
  const model = await tjs.SiglipVisionModel.from_pretrained(name, modelOptions);
  const files = readdirSync(input)
    .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
    .sort();
  for (let i = 0; i < files.length; i += batch) {
    const images = await Promise.all(files.slice(i, i + batch).map((f) => tjs.RawImage.read(join(input, f))));
    const { pooler_output } = await model(await processor(images));
    rows.push(pooler_output.data);
    items += images.length;
  }
} else if (mode === "text") {
  const tokenizer = await tjs.AutoTokenizer.from_pretrained(name);
  const model = await tjs.SiglipTextModel.from_pretrained(name, modelOptions);
  const captions = readFileSync(input, "utf8").split("\n").filter(Boolean);
  for (let i = 0; i < captions.length; i += batch) {
    // SigLIP was trained on captions padded to 64 tokens: its model card's usage
    const texts = captions.slice(i, i + batch);
    const inputs = tokenizer(texts, { padding: "max_length", max_length: 64, truncation: true });
    const { pooler_output } = await model(inputs);
    rows.push(pooler_output.data);
    items += texts.length;
  }
} else {
  throw new Error(`unknown mode ${mode}: image or text`);
}
const seconds = (performance.now() - started) / 1000;
const values = rows.reduce((n, r) => n + r.length, 0);
const all = new Float32Array(values);
let at = 0;
for (const r of rows) {
  all.set(r, at);
  at += r.length;
}
writeFileSync(out, Buffer.from(all.buffer));
console.log(JSON.stringify({ items, seconds, perSecond: items / seconds }));
