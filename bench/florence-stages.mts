// Where Florence-2's time goes in one batch: each onnxruntime graph's share (vision encoder,
// embed_tokens, encoder, the decoder's first step and its later steps), and what is left of the
// batch's wall time for emb's own work between the runs (beam bookkeeping, logits processing,
// copying the KV cache), measured by timing every session run of one `emb florence`-equivalent
// batch: the same preparation, prompt, generation settings and model code.
//
// Usage: node --import tsx bench/florence-stages.mts MODEL_DIR IMAGES_DIR [batch 8] [tokens 20] [beams 3]
// Prints one JSON document: per graph {runs, ms, share}, the rest, and the batch's wall time.
import { readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { Florence2 } from "../src/api/florence.js";
import { prepareImage } from "../src/api/images.js";
import { imageToTextTasks } from "../src/models/registry.js";
import type { ImageToText } from "../src/models/types.js";
import { ModelSession } from "../src/runtime/session.js";

const [modelDir, imagesDir, batchText = "8", tokensText = "20", beamsText = "3"] = process.argv.slice(2);
const [batch, tokens, beams] = [Number(batchText), Number(tokensText), Number(beamsText)];

// Every session run timed, keyed by graph file (the decoder's first step apart from the rest).
const spent = new Map<string, { runs: number; ms: number }>();
const run = ModelSession.prototype.run;
ModelSession.prototype.run = async function (this: ModelSession, feeds, outputs) {
  const started = performance.now();
  try {
    return await run.call(this, feeds, outputs);
  } finally {
    const graph = basename(this.path);
    const firstStep = graph.startsWith("decoder") && Object.values(feeds).some((t) => t.dims[2] === 0);
    const key = firstStep ? `${graph} (first step)` : graph;
    const entry = spent.get(key) ?? { runs: 0, ms: 0 };
    entry.runs++;
    entry.ms += performance.now() - started;
    spent.set(key, entry);
  }
};

const florence = await Florence2.open({ model: modelDir, device: "cpu" });
// the model behind the one-image API, to generate for a whole batch as emb florence does
const model = (florence as unknown as { model: ImageToText }).model;
const files = readdirSync(imagesDir)
  .filter((f) => /\.(jpe?g|png)$/i.test(f))
  .sort()
  .slice(0, batch);
const images = await Promise.all(files.map((f) => prepareImage(join(imagesDir, f), 0, model.preprocessing, {})));
const prompt = model.encodePrompt(imageToTextTasks.prompt("<CAPTION>"));
const settings = model.settings({ numBeams: beams, maxNewTokens: tokens, minNewTokens: tokens });
spent.clear();
const started = performance.now();
await model.generate(
  images.map((i) => i.pixels),
  images.map(() => prompt),
  settings,
);
const wallMs = performance.now() - started;
const graphsMs = [...spent.values()].reduce((a, e) => a + e.ms, 0);
const share = (ms: number) => Math.round((ms / wallMs) * 1000) / 10;
console.log(
  JSON.stringify(
    {
      images: files.length,
      tokens,
      beams,
      wallMs: Math.round(wallMs),
      graphs: Object.fromEntries([...spent].map(([k, e]) => [k, { runs: e.runs, ms: Math.round(e.ms), percent: share(e.ms) }])),
      betweenRuns: { ms: Math.round(wallMs - graphsMs), percent: share(wallMs - graphsMs) },
    },
    null,
    2,
  ),
);
await florence.close();
