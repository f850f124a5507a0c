/**
 * resizeBicubicRgb against PIL's own bicubic resize (goldens by tools/reference/resample_goldens.py)
 * on sources picked to reach every path of its WebAssembly passes, and the committed
 * pixels.wasm against its AssemblyScript source.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import asc from "assemblyscript/asc";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../src/package-root.js";
import { resizeBicubicRgb } from "../../src/image/resample.js";
import { fixturePath, maxAbsDiff, readJson } from "../helpers/fixtures.js";

interface ResampleCase {
  name: string;
  source?: string;
  pattern?: [number, number];
  width: number;
  height: number;
  expected: string;
}

const { cases } = readJson<{ cases: ResampleCase[] }>("goldens", "resample", "manifest.json");

async function rgb(file: string): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(fixturePath("goldens", "resample", file))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** The golden script's formula for its large source. */
function pattern(width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0, o = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) out[o++] = ((x * 7 + y * 3 + c * 85) ^ ((x * y) >> 6)) & 255;
    }
  }
  return out;
}

async function source(c: ResampleCase): Promise<{ data: Uint8Array; width: number; height: number }> {
  if (c.source) return rgb(c.source);
  const [width, height] = c.pattern!;
  return { data: pattern(width, height), width, height };
}

describe("resizeBicubicRgb equals PIL's Image.resize(BICUBIC)", () => {
  it("has a case for each path", () => {
    expect(cases.map((c) => c.name)).toEqual(
      expect.arrayContaining(["tiny_enlarge_shrink", "binary_shrink", "horizontal_only", "vertical_only", "single_column", "pattern_large"]),
    );
  });

  it.each(cases)("$name", async (c) => {
    const src = await source(c);
    const expected = await rgb(c.expected);
    expect([expected.width, expected.height]).toEqual([c.width, c.height]);
    const out = resizeBicubicRgb(src.data, src.width, src.height, c.width, c.height);
    expect(maxAbsDiff(out, expected.data)).toBe(0);
  });

  it("gives the same pixels again after a large image let its memory go", async () => {
    const small = cases.find((c) => c.name === "odd_enlarge")!;
    const src = await source(small);
    const before = resizeBicubicRgb(src.data, src.width, src.height, small.width, small.height);
    resizeBicubicRgb(pattern(6000, 4000), 6000, 4000, 96, 64);
    const after = resizeBicubicRgb(src.data, src.width, src.height, small.width, small.height);
    expect(maxAbsDiff(after, before)).toBe(0);
    expect(maxAbsDiff(after, (await rgb(small.expected)).data)).toBe(0);
  });
});

describe("pixels.wasm", () => {
  it("is what `npm run build:wasm` compiles from src/image/wasm/pixels.ts", async () => {
    const root = packageRoot();
    const script: string = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts["build:wasm"];
    const args = script.split(/\s+/).slice(1); // the same flags, without "asc"
    const outAt = args.indexOf("-o");
    const committed = args[outAt + 1];
    args.splice(outAt, 2, "-o", "compiled.wasm");
    let compiled: Uint8Array | undefined;
    const result = await asc.main(args, {
      readFile: (name, baseDir) => {
        try {
          return readFileSync(join(root, baseDir, name), "utf8");
        } catch {
          return null;
        }
      },
      writeFile: (name, contents) => {
        if (name.endsWith("compiled.wasm")) compiled = contents as Uint8Array;
      },
      listFiles: () => [],
    });
    expect(result.error, result.stderr.toString()).toBeNull();
    const fresh = Buffer.from(compiled!);
    expect(fresh.equals(readFileSync(join(root, committed))), "src/image/pixels.wasm is stale: run `npm run build:wasm` and commit it").toBe(true);
  });
});

describe("resizeBicubicRgb on an image too large to resize", () => {
  it("says how much memory it needs and what to do, before touching the pixels", () => {
    // 40000 x 40000 RGB is 4.8 GB of source rows alone: past what WebAssembly can address
    expect(() => resizeBicubicRgb(new Uint8Array(0), 40000, 40000, 384, 384)).toThrow(
      /this image needs 4\d{3} MiB of working memory, over the 4 GiB WebAssembly can address; refuse such images with a lower --max-pixels/,
    );
  });
});
