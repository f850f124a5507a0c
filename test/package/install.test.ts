/**
 * The package as users get it: `npm pack` of a fresh build, unpacked as node_modules/emb-toolkit
 * of an empty project whose other node_modules entries link to this repository's (an offline
 * `npm install` of the tarball would need the registry's package metadata, which `npm ci` does
 * not cache), then a plain Node program there imports the library by the package's name, embeds
 * a fixture image (by path and as bytes) and a caption with the tiny SigLIP model and writes them
 * as .npy; its vectors must be PyTorch's goldens. A TypeScript file compiled there against the
 * installed declarations checks that the types are shipped and mean what the API does.
 */
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.js";
import { cosine, fixturePath, maxAbsDiff, readJson, readNpy } from "../helpers/fixtures.js";

const TSC = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const IMAGE = "photo_500x375.jpg";
const CAPTION_INDEX = 0;

let work: string;
let project: string;

function run(command: string, args: string[], options: SpawnSyncOptions): string {
  const r = spawnSync(command, args, { encoding: "utf8", ...options, env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: "skip", ...options.env } });
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return String(r.stdout);
}

/** The package folder as `npm pack` sees it after `npm run build`: its "files" and a dist/ with declarations. */
function stagePackage(dir: string): void {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { files: string[]; scripts: Record<string, string> };
  // npm 10 runs `prepare` on pack even with --ignore-scripts; the build below is what it would do.
  delete pkg.scripts.prepare;
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  for (const entry of pkg.files) if (entry !== "dist" && entry !== "oclif.manifest.json") cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  run(process.execPath, [TSC, "-p", join(ROOT, "tsconfig.build.json"), "--outDir", join(dir, "dist")], { cwd: ROOT });
}

function goldenRow(array: string, index: number): Float32Array {
  const npy = readNpy("goldens", "siglip", array);
  const d = npy.shape[1];
  return (npy.data as Float32Array).slice(index * d, (index + 1) * d);
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "emb-package-"));
  const staged = join(work, "staged");
  mkdirSync(staged);
  stagePackage(staged);
  // --ignore-scripts: the build above is what `prepare` would run.
  run(NPM, ["pack", "--ignore-scripts", "--pack-destination", work], { cwd: staged });
  const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"))!;
  project = join(work, "project");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "uses-emb", private: true, type: "module" }));
  const modules = join(project, "node_modules");
  mkdirSync(modules);
  run("tar", ["-xzf", join(work, tarball), "-C", work], { cwd: work });
  renameSync(join(work, "package"), join(modules, "emb-toolkit"));
  for (const entry of readdirSync(join(ROOT, "node_modules"))) {
    if (entry !== "emb-toolkit" && entry !== ".bin") symlinkSync(join(ROOT, "node_modules", entry), join(modules, entry));
  }
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the packed package, in an empty project", () => {
  it("ships the CLI, which runs, and the library entry with declarations, and no tests", () => {
    const installed = join(project, "node_modules", "emb-toolkit");
    const pkg = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
    expect(pkg.bin).toEqual({ emb: "./bin/run.js" });
    expect(readdirSync(join(installed, "dist", "src"))).toEqual(expect.arrayContaining(["index.js", "index.d.ts"]));
    expect(readdirSync(installed)).not.toContain("test");
    const version = run(process.execPath, [join(installed, "bin", "run.js"), "--version"], { cwd: project });
    expect(version).toMatch(new RegExp(`^emb-toolkit/${pkg.version.replaceAll(".", "\\.")} `));
  });

  it("a Node program imports it by name and embeds an image (path and bytes) and a caption as PyTorch does", () => {
    const program = `
      import { readFileSync } from "node:fs";
      import { SiglipEmbedder, readNpy, writeNpy, npyRows } from "emb-toolkit";
      const [model, image, caption, out] = process.argv.slice(2);
      const siglip = await SiglipEmbedder.open({ model, device: "cpu", threads: 1 });
      const [byPath, byBytes] = await siglip.embedImages([image, readFileSync(image)]);
      const [text] = await siglip.embedTexts([caption]);
      writeNpy(out, [byPath, text]);
      const back = npyRows(readNpy(out));
      await siglip.close();
      console.log(JSON.stringify({ dim: siglip.dim, byPath: [...byPath], byBytes: [...byBytes], text: [...text], back: back.map((r) => [...r]) }));
    `;
    writeFileSync(join(project, "embed.mjs"), program);
    const golden = readJson("goldens", "siglip", "goldens.json");
    const imageIndex = golden.images.findIndex((i: { file: string }) => i.file === IMAGE);
    const caption = golden.captions[CAPTION_INDEX].text;
    const out = run(process.execPath, ["embed.mjs", fixturePath("siglip-tiny"), fixturePath("images", IMAGE), caption, join(work, "rows.npy")], {
      cwd: project,
    });
    const r = JSON.parse(out);
    expect(r.dim).toBe(r.byPath.length);
    expect(cosine(r.byPath, goldenRow("vision_pooler_output.npy", imageIndex))).toBeGreaterThanOrEqual(0.9999);
    expect(r.byBytes).toEqual(r.byPath);
    expect(maxAbsDiff(r.text, goldenRow("text_pooler_output.npy", CAPTION_INDEX))).toBeLessThan(1e-4);
    expect(r.back).toEqual([r.byPath, r.text]);
  });

  it("its declarations type-check a TypeScript program and reject a wrong call", () => {
    writeFileSync(
      join(project, "check.ts"),
      `
      import { SiglipEmbedder, Florence2, knnEvaluate, scoreCaptions, readNpy, type KnnEvaluation, type FlorenceAnswer } from "emb-toolkit";
      export async function main(): Promise<number> {
        const siglip = await SiglipEmbedder.open({ model: "./siglip", dtype: "fp16", device: "cpu" });
        const vectors: Float32Array[] = await siglip.embedImages(["a.jpg", new Uint8Array(4)], { normalize: true, batchSize: 8 });
        const texts: Float32Array[] = await siglip.embedTexts(["a photo of a cat"]);
        const florence = await Florence2.open({ model: "onnx-community/Florence-2-large-ft" });
        const answer: FlorenceAnswer = await florence.run("<OD>", "a.jpg", { numBeams: 1 });
        const knn: KnnEvaluation = await knnEvaluate({ vectors, labels: ["cat", "dog"] }, { vectors: texts, labels: ["cat"] }, { k: 1 });
        const scores = await scoreCaptions("captions.json", [{ image_id: 1, caption: "a cat" }], { metrics: ["bleu", "cider"] });
        // @ts-expect-error texts are strings
        await siglip.embedTexts([42]);
        // @ts-expect-error no such metric group
        await scoreCaptions("captions.json", [], { metrics: ["spice"] });
        return knn.top1 + scores.metrics.CIDEr + answer.width + readNpy("x.npy").shape[0];
      }
      `,
    );
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: true, types: [] },
        files: ["check.ts"],
      }),
    );
    const r = spawnSync(process.execPath, [TSC, "-p", "tsconfig.json"], { cwd: project, encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
