// emb's image preparation alone (read, hash, decode, PIL-exact bicubic resize, normalise), as
// `emb embed image` and `emb florence` run it: one worker thread of the preparation pool, every
// image requested at once. Prints {"images_per_s": ..., "images": ..., "failed": ...}.
//
// Usage: node bench/prepare.mjs PACKAGE_ROOT MODEL_DIR IMAGE_LIST
//   PACKAGE_ROOT: a built emb (its dist/), so that one build can be measured against another
//   MODEL_DIR:    where preprocessor_config.json is (size, mean, std)
//   IMAGE_LIST:   a file naming one image per line
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [root, modelDir, list] = process.argv.slice(2);
const load = (path) => import(pathToFileURL(resolve(root, "dist", path)).href);
const { PreparePool } = await load("src/image/prepare-pool.js");
const { readPreprocessing } = await load("src/models/common/preprocessing.js");
const preprocessing = readPreprocessing(modelDir);
const files = readFileSync(list, "utf8").split("\n").filter(Boolean);

const pool = new PreparePool(1);
try {
  // One warm-up pass (worker start, module compilation), then the timed pass.
  await Promise.all(files.slice(0, 8).map((f) => pool.prepare(f, preprocessing, {})));
  const start = performance.now();
  const replies = await Promise.all(files.map((f) => pool.prepare(f, preprocessing, {})));
  const seconds = (performance.now() - start) / 1000;
  const failed = replies.filter((r) => !r.ok).length;
  console.log(JSON.stringify({ images_per_s: files.length / seconds, images: files.length, failed }));
} finally {
  await pool.close();
}
