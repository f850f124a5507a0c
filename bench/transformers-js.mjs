// The transformers.js side of bench/transformers-js.sh: what a TypeScript user writes with
// @huggingface/transformers to embed a folder of images or a file of captions with a SigLIP export
// (AutoProcessor + SiglipVisionModel, AutoTokenizer + SiglipTextModel, in batches), on the same
// ONNX files emb reads. Writes the vectors as raw float32 rows to OUT and prints one JSON line:
// {items, seconds, perSecond} (seconds from before loading the model to the last vector).
//
// For Florence-2 (Florence2ForConditionalGeneration + its processor): greedy `<CAPTION>` of exactly
// TOKENS new tokens per image (transformers.js has no beam search), the captions written to OUT
// as JSON lines {file, caption}.
//
// Usage: node bench/transformers-js.mjs image|text|florence MODEL_DIR INPUT BATCH OUT [TOKENS]
//   image, florence: INPUT is a folder of images (sorted by name, as emb orders them)
//   text: INPUT is a file of captions, one per line
//   TRANSFORMERS_JS: the folder holding node_modules/@huggingface/transformers
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";

const [mode, modelDir, input, batchText, out, tokensText] = process.argv.slice(2);
const batch = Number(batchText);
const require = createRequire(join(resolve(process.env.TRANSFORMERS_JS ?? "."), "package.json"));
const tjs = await import(require.resolve("@huggingface/transformers"));
tjs.env.allowRemoteModels = false;
tjs.env.localModelPath = `${dirname(resolve(modelDir))}/`;
const name = basename(resolve(modelDir));
// full-size exports keep their weights beside each graph, in <graph>.onnx_data
const graph = { image: "vision_model", text: "text_model", florence: "vision_encoder" }[mode];
const modelOptions = { dtype: "fp32", device: "cpu", use_external_data_format: existsSync(join(modelDir, "onnx", `${graph}.onnx_data`)) };
const imageFiles = () =>
  readdirSync(input)
    .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
    .sort();

const started = performance.now();
const rows = [];
let items = 0;
if (mode === "image") {
  const processor = await tjs.AutoProcessor.from_pretrained(name);
  const model = await tjs.SiglipVisionModel.from_pretrained(name, modelOptions);
  const files = imageFiles();
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
} else if (mode === "florence") {
  const processor = await tjs.AutoProcessor.from_pretrained(name);
  const model = await tjs.Florence2ForConditionalGeneration.from_pretrained(name, modelOptions);
  const tokens = Number(tokensText ?? 20);
  const files = imageFiles();
  const lines = [];
  for (let i = 0; i < files.length; i += batch) {
    const names = files.slice(i, i + batch);
    const images = await Promise.all(names.map((f) => tjs.RawImage.read(join(input, f))));
    const inputs = await processor(
      images,
      names.map(() => "<CAPTION>"),
    );
    const generated = await model.generate({ ...inputs, max_new_tokens: tokens, min_new_tokens: tokens, num_beams: 1, do_sample: false });
    const texts = processor.batch_decode(generated, { skip_special_tokens: false });
    texts.forEach((text, k) => {
      const caption = processor.post_process_generation(text, "<CAPTION>", images[k].size)["<CAPTION>"];
      lines.push(`${JSON.stringify({ file: names[k], caption })}\n`);
    });
    items += names.length;
  }
  writeFileSync(out, lines.join(""));
} else {
  throw new Error(`unknown mode ${mode}: image, text or florence`);
}
const seconds = (performance.now() - started) / 1000;
if (mode === "florence") {
  console.log(JSON.stringify({ items, seconds, perSecond: items / seconds }));
  process.exit(0);
}
const values = rows.reduce((n, r) => n + r.length, 0);
const all = new Float32Array(values);
let at = 0;
for (const r of rows) {
  all.set(r, at);
  at += r.length;
}
writeFileSync(out, Buffer.from(all.buffer));
console.log(JSON.stringify({ items, seconds, perSecond: items / seconds }));
