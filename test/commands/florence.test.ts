import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJsonl } from "../../src/io/jsonl.js";
import { ROOT, runCli, runCliAsync, startCli } from "../helpers/cli.js";
import { startFakeHub, type FakeHub } from "../helpers/fake-hub.js";
import { fixturePath, readJson } from "../helpers/fixtures.js";

const TINY = fixturePath("florence2-tiny");
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-florence-${name}-`));

interface GenerationCase {
  image: string;
  task: string;
  text: string | null;
  settings: Record<string, unknown>;
  sequence: number[];
  decoded: string;
  parsed: Record<string, unknown>;
}
const cases = readJson<{ cases: GenerationCase[] }>("goldens", "florence2", "generation.json").cases;
/** PyTorch's answer for an image and task under the checkpoint's settings (beam) or greedy. */
function golden(image: string, task: string, mode: "beam" | "greedy" = "beam"): GenerationCase {
  const settings = mode === "beam" ? JSON.stringify({ max_new_tokens: 24 }) : JSON.stringify({ max_new_tokens: 24, num_beams: 1, no_repeat_ngram_size: 0 });
  return cases.find((c) => c.image === image && c.task === task && JSON.stringify(c.settings) === settings)!;
}

function folderOf(files: string[]): string {
  const dir = tmp("images");
  for (const f of files) copyFileSync(fixturePath("images", f), join(dir, f));
  return dir;
}

const florence = (args: string[]) => runCli(["florence", ...args, "--model", TINY, "--max-new-tokens", "24", "--no-progress"]);
const results = (out: string) =>
  readJsonl<{ path: string; result: Record<string, unknown>; tokens: number; width: number; height: number }>(join(out, "results.jsonl"));

describe("emb florence on the tiny Florence-2", () => {
  it("prints one image's result as Florence2Processor gives it", () => {
    const run = florence(["<DENSE_REGION_CAPTION>", fixturePath("images", "large_1280x720.jpg")]);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(golden("large_1280x720.jpg", "<DENSE_REGION_CAPTION>").parsed);
  });

  it("takes a task's text and overrides generation settings (greedy)", () => {
    const c = golden("exif_rot90_400x300.jpg", "<CAPTION_TO_PHRASE_GROUNDING>", "greedy");
    const run = florence([c.task, fixturePath("images", c.image), "--text", c.text!, "--num-beams", "1", "--no-repeat-ngram-size", "0", "--json"]);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(c.parsed);
  });

  it("writes a folder's results.jsonl in path order, equal to PyTorch whatever the batch size", () => {
    const files = ["photo_500x375.jpg", "portrait_375x500.jpg", "panorama_2400x200.jpg", "tiny_1x1.png", "cmyk_320x240.jpg", "gray16_200x150.png"];
    const dir = folderOf(files);
    const outputs = [1, 3, 8].map((batch) => {
      const out = join(tmp("out"), "od");
      const run = florence(["<OD>", dir, "--out", out, "--batch-size", String(batch), "--json"]);
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ total: 6, processed: 6, failed: 0, rows: 6 });
      return results(out);
    });
    const expected = [...files].sort().map((f) => golden(f, "<OD>").parsed);
    for (const records of outputs) {
      expect(records.map((r) => basename(r.path))).toEqual([...files].sort());
      expect(records.map((r) => r.result)).toEqual(expected);
    }
    // Coordinates refer to the image as oriented and decoded: its own size is recorded.
    expect(outputs[0].find((r) => r.path.endsWith("portrait_375x500.jpg"))).toMatchObject({ width: 375, height: 500 });
  });

  it("resumes: a second run does nothing, a changed image is run again and keeps one record", () => {
    const dir = folderOf(["photo_500x375.jpg", "small_64x48.jpg", "gray_256x256.png"]);
    const out = join(tmp("out"), "caption");
    expect(florence(["<CAPTION>", dir, "--out", out]).status).toBe(0);
    const again = florence(["<CAPTION>", dir, "--out", out, "--json"]);
    expect(JSON.parse(again.stdout)).toMatchObject({ processed: 0, unchanged: 3 });
    copyFileSync(fixturePath("images", "large_1280x720.jpg"), join(dir, "small_64x48.jpg"));
    utimesSync(join(dir, "small_64x48.jpg"), new Date(), new Date(Date.now() + 5000));
    const changed = florence(["<CAPTION>", dir, "--out", out, "--json"]);
    expect(JSON.parse(changed.stdout)).toMatchObject({ processed: 1, unchanged: 2, rows: 3 });
    const records = results(out);
    expect(records).toHaveLength(3);
    expect(records.find((r) => r.path.endsWith("small_64x48.jpg"))!.result).toEqual(golden("large_1280x720.jpg", "<CAPTION>").parsed);
    // Another task into the same folder would mix answers: refused.
    const other = florence(["<OD>", dir, "--out", out]);
    expect(other.status).not.toBe(0);
    expect(other.stderr).toContain("choose another --out");
  });

  it("reports a corrupt image, runs the rest, and exits 3 (some inputs failed)", () => {
    const dir = folderOf(["photo_500x375.jpg", "gray_320x240.jpg"]);
    writeFileSync(join(dir, "broken.jpg"), Buffer.from("not a jpeg"));
    const out = join(tmp("out"), "broken");
    const run = florence(["<OCR>", dir, "--out", out, "--json"]);
    expect(run.status).toBe(3);
    expect(JSON.parse(run.stdout)).toMatchObject({ processed: 2, failed: 1 });
    const errors = readJsonl<{ path: string; reason: string }>(join(out, "errors.jsonl"));
    expect(errors).toEqual([expect.objectContaining({ path: join(dir, "broken.jpg"), reason: "unreadable" })]);
  });

  it("draws results on the oriented image as PNG", async () => {
    const dir = folderOf(["exif_rot90_400x300.jpg", "photo_500x375.jpg"]);
    const drawn = tmp("draw");
    const run = florence(["<OD>", dir, "--out", join(tmp("out"), "od"), "--draw", drawn]);
    expect(run.status, run.stderr).toBe(0);
    const rotated = join(drawn, basename(dir), "exif_rot90_400x300.png");
    expect(existsSync(rotated), rotated).toBe(true);
    const meta = await sharp(readFileSync(rotated)).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 300, 400]);
  });

  it("--draw keeps the paths below the inputs' folder, the same for absolute and relative arguments, never the absolute path", () => {
    const dir = folderOf(["photo_500x375.jpg"]);
    mkdirSync(join(dir, "sub"));
    copyFileSync(fixturePath("images", "small_64x48.jpg"), join(dir, "sub", "small_64x48.jpg"));
    /** The files under a --draw folder, relative to it. */
    const drawnFiles = (args: string[]) => {
      const drawn = tmp("draw");
      const run = florence(["<OD>", ...args, "--out", join(tmp("out"), "od"), "--draw", drawn]);
      expect(run.status, run.stderr).toBe(0);
      return readdirSync(drawn, { recursive: true, encoding: "utf8" })
        .filter((f) => statSync(join(drawn, f)).isFile())
        .sort();
    };
    // As cp -r puts them: the folder by its name, and the images below it as they are below it.
    const folder = [join(basename(dir), "photo_500x375.png"), join(basename(dir), "sub", "small_64x48.png")];
    // The tests run in the repository, so this relative path climbs out of it first.
    expect(drawnFiles([relative(ROOT, dir)])).toEqual(folder);
    expect(drawnFiles([dir])).toEqual(folder);
    // One image: its name only, wherever it is.
    const image = join(dir, "sub", "small_64x48.jpg");
    expect(drawnFiles([image])).toEqual(["small_64x48.png"]);
    expect(drawnFiles([relative(ROOT, image)])).toEqual(["small_64x48.png"]);
    // Two folders side by side keep their names; a list of the files below them draws the same.
    const other = join(dir, "other");
    mkdirSync(other);
    copyFileSync(fixturePath("images", "small_64x48.jpg"), join(other, "small_64x48.jpg"));
    const two = [join("other", "small_64x48.png"), join("sub", "small_64x48.png")];
    expect(drawnFiles([join(dir, "sub"), other])).toEqual(two);
    const list = join(tmp("list"), "files.txt");
    writeFileSync(list, `${join(dir, "sub", "small_64x48.jpg")}\n${join(other, "small_64x48.jpg")}\n`);
    expect(drawnFiles(["--files-from", list])).toEqual(two);
  });

  it("names the valid tasks, and the text a task needs", () => {
    const unknown = florence(["<DESCRIBE>", fixturePath("images", "photo_500x375.jpg")]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown Florence-2 task "<DESCRIBE>"; valid tasks: <CAPTION>');
    const missing = florence(["<OPEN_VOCABULARY_DETECTION>", fixturePath("images", "photo_500x375.jpg")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("<OPEN_VOCABULARY_DETECTION> needs --text");
  });

  it("refuses a --text longer than the model takes, naming both counts (the tiny model: 1,024 positions less 577 image tokens)", () => {
    const image = fixturePath("images", "photo_500x375.jpg");
    const out = join(tmp("long"), "out");
    const long = florence(["<OPEN_VOCABULARY_DETECTION>", image, "--text", "a car ".repeat(2_000), "--out", out]);
    expect(long.status).toBe(2);
    expect(long.stderr).toMatch(
      /the prompt has [\d,]+ tokens; this model takes at most 447 \(max_position_embeddings 1,024 less the image's 577 tokens\); shorten --text/,
    );
    expect(existsSync(join(out, "results.jsonl"))).toBe(false);
  });

  it("stops on SIGINT after the images in flight, keeps their results, and resumes to the same answers", async () => {
    const dir = tmp("many");
    for (let i = 0; i < 40; i++) copyFileSync(fixturePath("images", "photo_500x375.jpg"), join(dir, `img_${String(i).padStart(3, "0")}.jpg`));
    const out = join(tmp("out"), "interrupted");
    const args = ["florence", "<CAPTION>", dir, "--model", TINY, "--max-new-tokens", "24", "--out", out, "--batch-size", "2", "--no-progress", "--json"];
    const child = startCli(args);
    const file = join(out, "results.jsonl");
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (existsSync(file) && readFileSync(file, "utf8").split("\n").length > 4) {
          clearInterval(poll);
          child.kill("SIGINT");
        }
      }, 5);
      child.on("exit", (code) => {
        clearInterval(poll);
        expect(code).toBe(130);
        resolve();
      });
    });
    const partial = results(out).length;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(40);
    expect(JSON.parse(readFileSync(join(out, "run.json"), "utf8")).status).toBe("interrupted");
    const resumed = runCli(args.slice(0));
    expect(JSON.parse(resumed.stdout)).toMatchObject({ processed: 40 - partial, unchanged: partial, rows: 40 });
    const expected = golden("photo_500x375.jpg", "<CAPTION>").parsed;
    expect(results(out).every((r) => JSON.stringify(r.result) === JSON.stringify(expected))).toBe(true);
  });
});

describe("emb florence with a model from a hub", () => {
  let hub: FakeHub;
  const COMMIT = "0123456789abcdef0123456789abcdef01234567";
  beforeAll(async () => {
    hub = await startFakeHub({ "test-org/florence2-tiny": { dir: TINY, commit: COMMIT } });
  });
  afterAll(() => hub.close());

  it("downloads the four ONNX parts, configs and tokenizer into HF_HOME and runs from there", async () => {
    const home = tmp("hf-home");
    const image = fixturePath("images", "photo_500x375.jpg");
    const args = ["florence", "<CAPTION>", image, "--model", "test-org/florence2-tiny", "--max-new-tokens", "24", "--no-progress"];
    const run = await runCliAsync(args, { HF_ENDPOINT: hub.url, HF_HOME: home });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(golden("photo_500x375.jpg", "<CAPTION>").parsed);
    const snapshot = join(home, "hub", "models--test-org--florence2-tiny", "snapshots", COMMIT);
    for (const file of [
      "onnx/vision_encoder.onnx",
      "onnx/embed_tokens.onnx",
      "onnx/encoder_model.onnx",
      "onnx/decoder_model_merged.onnx",
      "generation_config.json",
      "tokenizer.json",
    ]) {
      expect(existsSync(join(snapshot, file)), file).toBe(true);
    }
    const offline = await runCliAsync(args, { HF_ENDPOINT: hub.url, HF_HOME: home, HF_HUB_OFFLINE: "1" });
    expect(offline.status, offline.stderr).toBe(0);
  });

  it("names the dtypes a repository has when --dtype asks for a missing one", async () => {
    const run = await runCliAsync(
      ["florence", "<OD>", fixturePath("images", "photo_500x375.jpg"), "--model", "test-org/florence2-tiny", "--dtype", "fp16", "--no-progress"],
      { HF_ENDPOINT: hub.url, HF_HOME: tmp("hf-home") },
    );
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("no Florence-2 vision_encoder graph for --dtype fp16");
    expect(run.stderr).toContain("it has onnx/vision_encoder.onnx (--dtype fp16,vision_encoder=fp32); every part exists for --dtype fp32");
  });
});
