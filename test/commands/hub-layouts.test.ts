/**
 * The default commands against a stand-in hub serving the default repositories in every layout
 * public exports use, file names exactly as listed there: what a user's first run meets.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseNpy } from "../../src/io/npy.js";
import { readJsonl } from "../../src/io/jsonl.js";
import { resolveModel } from "../../src/models/common/hub.js";
import { parseTowerDtype } from "../../src/models/common/towers.js";
import { SiglipImageModel, siglipImageFiles } from "../../src/models/siglip/image.js";
import { DTYPE_SUFFIX, type Dtype } from "../../src/models/common/variants.js";
import { runCliAsync } from "../helpers/cli.js";
import { startFakeHub, type FakeHub } from "../helpers/fake-hub.js";
import { cosine, fixturePath, maxAbsDiff, normalisedPixels, readJson, readNpy } from "../helpers/fixtures.js";

const SIGLIP_REPO = "onnx-community/siglip-so400m-patch14-384-ONNX";
const FLORENCE_REPO = "onnx-community/Florence-2-large-ft";
const COMMIT = "1f4ddadf0123456789abcdef0123456789abcdef";
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-layout-${name}-`));

/** A repository folder: repository path -> fixture file it holds. */
function repo(files: Record<string, string>): string {
  const dir = tmp("repo");
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    copyFileSync(source, join(dir, path));
  }
  return dir;
}

const siglip = (...p: string[]) => fixturePath("siglip-tiny", ...p);
const siglipLayouts = (f: string) => fixturePath("siglip-tiny-layouts", "onnx", f);
const SIGLIP_ROOT_FILES = Object.fromEntries(
  ["config.json", "preprocessor_config.json", "special_tokens_map.json", "spiece.model", "tokenizer.json", "tokenizer_config.json"].map((f) => [f, siglip(f)]),
);

/** The layouts of SigLIP exports, as public sources list their files. */
const SIGLIP_LAYOUTS: Record<string, { files: Record<string, string>; vision: string; text: string }> = {
  // onnx-community/siglip-so400m-patch14-384-ONNX as public code loads it: one combined graph.
  "combined onnx/model.onnx with external weights": {
    files: {
      ...SIGLIP_ROOT_FILES,
      "onnx/model.onnx": siglipLayouts("model.onnx"),
      "onnx/model.onnx_data": siglipLayouts("model.onnx_data"),
      "onnx/model.onnx_data_1": siglipLayouts("model.onnx_data_1"),
    },
    vision: "onnx/model.onnx",
    text: "onnx/model.onnx",
  },
  // Xenova/siglip-* exports: split towers plus the combined graph, with weight variants.
  "split onnx/vision_model.onnx and onnx/text_model.onnx": {
    files: {
      ...SIGLIP_ROOT_FILES,
      "onnx/model.onnx": siglip("onnx", "model.onnx"),
      "onnx/vision_model.onnx": siglip("onnx", "vision_model.onnx"),
      "onnx/text_model.onnx": siglip("onnx", "text_model.onnx"),
      "onnx/vision_model_fp16.onnx": siglip("onnx", "vision_model_fp16.onnx"),
      "onnx/vision_model_quantized.onnx": siglip("onnx", "vision_model_quantized.onnx"),
      ...Object.fromEntries(["int8", "uint8", "q4", "q4f16", "bnb4"].map((d) => [`onnx/vision_model_${d}.onnx`, siglipLayouts(`vision_model_${d}.onnx`)])),
    },
    vision: "onnx/vision_model.onnx",
    text: "onnx/text_model.onnx",
  },
  // Third-party mirrors of the so400m export list the towers at the repository root.
  "root-level vision_model.onnx and text_model.onnx": {
    files: {
      ...SIGLIP_ROOT_FILES,
      "vision_model.onnx": siglip("onnx", "vision_model.onnx"),
      "text_model.onnx": siglip("onnx", "text_model.onnx"),
    },
    vision: "vision_model.onnx",
    text: "text_model.onnx",
  },
};

const golden = readJson("goldens", "siglip", "goldens.json");
function goldenRow(array: string, index: number): Float32Array {
  const npy = readNpy("goldens", "siglip", array);
  const d = npy.shape[1];
  return (npy.data as Float32Array).slice(index * d, (index + 1) * d);
}
const imageIndex = (file: string) => golden.images.findIndex((i: { file: string }) => i.file === file);

function npyRows(dir: string): Float32Array[] {
  const npy = parseNpy(readFileSync(join(dir, "embeddings.npy")));
  const [n, d] = npy.shape;
  return Array.from({ length: n }, (_, i) => (npy.data as Float32Array).slice(i * d, (i + 1) * d));
}

let hubs: FakeHub[] = [];
async function serve(repos: Record<string, string>): Promise<FakeHub> {
  const hub = await startFakeHub(Object.fromEntries(Object.entries(repos).map(([id, dir]) => [id, { dir, commit: COMMIT }])));
  hubs.push(hub);
  return hub;
}
afterEach(async () => {
  await Promise.all(hubs.map((h) => h.close()));
  hubs = [];
});
/** Repository files the hub served (a download reads a file's head first, then the whole file). */
const fetchedFiles = (hub: FakeHub) => [...new Set(hub.fileGets().map((r) => r.split(`/resolve/${COMMIT}/`)[1]))];
const env = (hub: FakeHub) => ({ HF_ENDPOINT: hub.url, HF_HOME: tmp("hf-home") });

describe("the default SigLIP repository in every public layout", () => {
  for (const [name, layout] of Object.entries(SIGLIP_LAYOUTS)) {
    it(`${name}: emb embed image and emb embed text, default model, PyTorch's embeddings`, async () => {
      const hub = await serve({ [SIGLIP_REPO]: repo(layout.files) });
      const image = fixturePath("images", "photo_500x375.jpg");
      const imageOut = join(tmp("out"), "img");
      const embedImage = await runCliAsync(["embed", "image", image, "--out", imageOut, "--no-progress"], env(hub));
      expect(embedImage.status, embedImage.stderr).toBe(0);
      const run = JSON.parse(readFileSync(join(imageOut, "run.json"), "utf8"));
      expect(run.model.graph).toBe(layout.vision);
      expect(cosine(npyRows(imageOut)[0], goldenRow("vision_pooler_output.npy", imageIndex("photo_500x375.jpg")))).toBeGreaterThanOrEqual(0.9999);
      // Only the chosen graph and its weights travel; the other towers and variants stay on the hub.
      const graphsFetched = fetchedFiles(hub).filter((f) => /\.onnx(_data(_\d+)?)?$/.test(f));
      expect(graphsFetched.sort()).toEqual(
        Object.keys(layout.files)
          .filter((f) => f === layout.vision || f.startsWith(`${layout.vision}_data`))
          .sort(),
      );

      const textOut = join(tmp("out"), "txt");
      const caption = golden.captions[0].text;
      const embedText = await runCliAsync(["embed", "text", caption, "--out", textOut, "--no-progress"], env(hub));
      expect(embedText.status, embedText.stderr).toBe(0);
      expect(JSON.parse(readFileSync(join(textOut, "run.json"), "utf8")).model.graph).toBe(layout.text);
      expect(cosine(npyRows(textOut)[0], goldenRow("text_pooler_output.npy", 0))).toBeGreaterThanOrEqual(0.9999);
    });
  }

  it("every dtype suffix picks its file and runs it as onnxruntime does in Python", async () => {
    const hub = await serve({ [SIGLIP_REPO]: repo(SIGLIP_LAYOUTS["split onnx/vision_model.onnx and onnx/text_model.onnx"].files) });
    const layouts = readJson<{ images: string[]; vision_pooler_output: Record<string, number[][]> }>("goldens", "layouts.json");
    const pixels = await Promise.all(
      layouts.images.map((i) => normalisedPixels(fixturePath("goldens", "siglip", "pixels", `${i}.png`), [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])),
    );
    const cacheDir = tmp("hf-cache");
    // float16 arithmetic differs between onnxruntime builds in the last bits; the rest is exact arithmetic on the same graph.
    const tolerance: Partial<Record<Dtype, number>> = { q4f16: 2e-2 };
    for (const dtype of ["int8", "uint8", "q4", "q4f16", "bnb4"] as Dtype[]) {
      const spec = parseTowerDtype(dtype);
      const resolved = await resolveModel(SIGLIP_REPO, siglipImageFiles(spec), { endpoint: hub.url, cacheDir, offline: false });
      const model = await SiglipImageModel.load(resolved.dir, spec, { device: "cpu", threads: 1 });
      expect(model.info.graph).toBe(`onnx/vision_model${DTYPE_SUFFIX[dtype]}.onnx`);
      const rows = await model.embed(pixels);
      await model.release();
      const expected = layouts.vision_pooler_output[dtype];
      rows.forEach((row, i) => expect(maxAbsDiff(row, expected[i]), dtype).toBeLessThan(tolerance[dtype] ?? 1e-4));
    }
  });

  it("a dtype the repository lacks names what it has and the flag that picks it", async () => {
    const hub = await serve({ [SIGLIP_REPO]: repo(SIGLIP_LAYOUTS["combined onnx/model.onnx with external weights"].files) });
    const result = await runCliAsync(["embed", "image", fixturePath("images", "small_64x48.jpg"), "--out", join(tmp("out"), "x"), "--dtype", "q4"], env(hub));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("no SigLIP vision graph for --dtype q4");
    expect(result.stderr).toContain("it has onnx/model.onnx (--dtype fp32)");
  });

  it("a PyTorch-only repository (google/siglip-so400m-patch14-384's files) says how to export it", async () => {
    const dir = repo({ ...SIGLIP_ROOT_FILES, "model.safetensors": siglip("config.json") });
    const hub = await serve({ "google/siglip-so400m-patch14-384": dir });
    const result = await runCliAsync(
      ["embed", "image", fixturePath("images", "small_64x48.jpg"), "--model", "google/siglip-so400m-patch14-384", "--out", join(tmp("out"), "x")],
      env(hub),
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("it holds no ONNX graph (config.json, model.safetensors");
    expect(result.stderr).toContain("tools/export");
  });

  it("a wrong --dtype is a usage error naming the valid values", async () => {
    const image = fixturePath("images", "small_64x48.jpg");
    const bad = await runCliAsync(["embed", "image", image, "--model", fixturePath("siglip-tiny"), "--dtype", "fp64", "--out", join(tmp("out"), "x")]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("'fp64' is not a dtype; valid dtypes: fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4");
    const part = await runCliAsync(["embed", "image", image, "--model", fixturePath("siglip-tiny"), "--dtype", "decoder=q4", "--out", join(tmp("out"), "y")]);
    expect(part.status).toBe(2);
    expect(part.stderr).toContain("this model has no part 'decoder'; its parts: vision, vision_model, text, text_model");
  });
});

const florence = (...p: string[]) => fixturePath("florence2-tiny", ...p);
const FLORENCE_ROOT_FILES = Object.fromEntries(
  ["config.json", "generation_config.json", "preprocessor_config.json", "processor_config.json", "tokenizer.json", "tokenizer_config.json"].map((f) => [
    f,
    florence(f),
  ]),
);
const FLORENCE_ENCODERS = Object.fromEntries(["vision_encoder", "embed_tokens", "encoder_model"].map((p) => [`onnx/${p}.onnx`, florence("onnx", `${p}.onnx`)]));
const florenceLayouts = (f: string) => fixturePath("florence2-tiny-layouts", "onnx", f);

interface GenerationCase {
  image: string;
  task: string;
  settings: Record<string, unknown>;
  parsed: Record<string, unknown>;
}
const cases = readJson<{ cases: GenerationCase[] }>("goldens", "florence2", "generation.json").cases;
const beam = (image: string, task: string) =>
  cases.find((c) => c.image === image && c.task === task && JSON.stringify(c.settings) === '{"max_new_tokens":24}')!;

describe("the default Florence-2 repository in its public layouts", () => {
  const images = ["large_1280x720.jpg", "photo_500x375.jpg", "portrait_375x500.jpg"]; // results.jsonl is in path order
  function imageFolder(): string {
    const dir = tmp("images");
    for (const f of images) copyFileSync(fixturePath("images", f), join(dir, f));
    return dir;
  }
  async function caption(hub: FakeHub, extra: string[] = []) {
    const out = join(tmp("out"), "florence");
    const result = await runCliAsync(["florence", "<CAPTION>", imageFolder(), "--out", out, "--max-new-tokens", "24", "--no-progress", ...extra], env(hub));
    expect(result.status, result.stderr).toBe(0);
    const rows = readJsonl<{ path: string; result: Record<string, unknown> }>(join(out, "results.jsonl"));
    return { rows, run: JSON.parse(readFileSync(join(out, "run.json"), "utf8")) };
  }

  it("only the unmerged decoder_model + decoder_with_past_model pair: PyTorch's beam search captions", async () => {
    const hub = await serve({
      [FLORENCE_REPO]: repo({
        ...FLORENCE_ROOT_FILES,
        ...FLORENCE_ENCODERS,
        "onnx/decoder_model.onnx": florenceLayouts("decoder_model.onnx"),
        "onnx/decoder_with_past_model.onnx": florenceLayouts("decoder_with_past_model.onnx"),
      }),
    });
    const { rows, run } = await caption(hub);
    expect(run.model.graphs).toContain("onnx/decoder_with_past_model.onnx");
    expect(rows.map((r) => [basename(r.path), r.result])).toEqual(images.map((i) => [i, beam(i, "<CAPTION>").parsed]));
  });

  it("per-part dtypes: embed_tokens=fp16 with the merged decoder fetches and runs exactly those files", async () => {
    const hub = await serve({
      [FLORENCE_REPO]: repo({
        ...FLORENCE_ROOT_FILES,
        ...FLORENCE_ENCODERS,
        "onnx/embed_tokens_fp16.onnx": florenceLayouts("embed_tokens_fp16.onnx"),
        "onnx/decoder_model_merged.onnx": florence("onnx", "decoder_model_merged.onnx"),
        "onnx/decoder_model.onnx": florenceLayouts("decoder_model.onnx"),
        "onnx/decoder_with_past_model.onnx": florenceLayouts("decoder_with_past_model.onnx"),
      }),
    });
    const { rows, run } = await caption(hub, ["--dtype", "embed_tokens=fp16"]);
    expect(run.model.dtype).toBe("fp32,embed_tokens=fp16");
    expect(run.model.graphs).toEqual(["onnx/vision_encoder.onnx", "onnx/embed_tokens_fp16.onnx", "onnx/encoder_model.onnx", "onnx/decoder_model_merged.onnx"]);
    const fetched = fetchedFiles(hub).filter((f) => f.endsWith(".onnx"));
    expect(fetched.sort()).toEqual([...run.model.graphs].sort());
    // The tiny model's token embeddings are multiples of 1/8: float16 holds them exactly.
    expect(rows.map((r) => [basename(r.path), r.result])).toEqual(images.map((i) => [i, beam(i, "<CAPTION>").parsed]));
  });

  it("a decoder dtype the repository lacks lists both decoder layouts it has", async () => {
    const hub = await serve({
      [FLORENCE_REPO]: repo({ ...FLORENCE_ROOT_FILES, ...FLORENCE_ENCODERS, "onnx/decoder_model_merged.onnx": florence("onnx", "decoder_model_merged.onnx") }),
    });
    const result = await runCliAsync(
      ["florence", "<CAPTION>", fixturePath("images", "small_64x48.jpg"), "--dtype", "decoder_model_merged=q4", "--no-progress"],
      env(hub),
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("no Florence-2 decoder graph for --dtype fp32,decoder=q4");
    expect(result.stderr).toContain("it has onnx/decoder_model_merged.onnx (--dtype fp32); every part exists for --dtype fp32");
  });
});
