import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drawResult } from "../../src/models/florence2/draw.js";
import { fixturePath } from "../helpers/fixtures.js";

const WIDTH = 200;
const HEIGHT = 120;

let dir: string;
let white: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "emb-draw-"));
  white = join(dir, "white.png");
  await sharp({ create: { width: WIDTH, height: HEIGHT, channels: 3, background: "#ffffff" } })
    .png()
    .toFile(white);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Pixels {
  width: number;
  height: number;
  at(x: number, y: number): number[];
  isWhite(x: number, y: number): boolean;
}

async function readPixels(path: string): Promise<Pixels> {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
  return { width: info.width, height: info.height, at, isWhite: (x, y) => at(x, y).every((v) => v === 255) };
}

/** Draws `result` on the white test image into a fresh file and reads the pixels back. */
async function drawOnWhite(name: string, result: Record<string, unknown>): Promise<Pixels> {
  const out = join(dir, "nested", `${name}.png`);
  await drawResult(white, result, out);
  return readPixels(out);
}

describe("drawResult", () => {
  it("outlines a box and leaves its inside and outside untouched", async () => {
    const px = await drawOnWhite("box", { "<OD>": { bboxes: [[40, 40, 160, 100]], labels: ["car"] } });
    expect([px.width, px.height]).toEqual([WIDTH, HEIGHT]);
    // The four edges, away from the corners and from the label above the top-left.
    for (const [x, y] of [
      [100, 40], // top
      [100, 100], // bottom
      [40, 70], // left
      [160, 70], // right
    ]) {
      expect(px.isWhite(x, y), `edge pixel ${x},${y}`).toBe(false);
    }
    for (const [x, y] of [
      [100, 70], // centre
      [60, 60], // inside, near the top-left
      [10, 110], // outside, bottom-left
      [190, 10], // outside, top-right
      [100, 112], // just below the box
    ]) {
      expect(px.at(x, y), `pixel ${x},${y}`).toEqual([255, 255, 255]);
    }
  });

  it("fills a polygon semi-transparently with an outline", async () => {
    const triangle = [60, 30, 180, 60, 60, 110];
    const px = await drawOnWhite("polygon", {
      "<REFERRING_EXPRESSION_SEGMENTATION>": { polygons: [[triangle]], labels: [""] },
    });
    const inside = px.at(90, 70);
    expect(px.isWhite(90, 70)).toBe(false);
    // Tinted, not covered: a 35% fill over white stays light.
    expect(Math.max(...inside)).toBeGreaterThan(120);
    expect(px.isWhite(60, 70)).toBe(false); // on the outline
    expect(px.at(20, 70)).toEqual([255, 255, 255]);
    expect(px.at(170, 100)).toEqual([255, 255, 255]);
  });

  it("draws polygons and boxes of an open-vocabulary detection", async () => {
    const px = await drawOnWhite("ovd", {
      "<OPEN_VOCABULARY_DETECTION>": {
        bboxes: [[20, 40, 80, 100]],
        bboxes_labels: ["cup"],
        polygons: [[[120, 40, 180, 40, 180, 100, 120, 100]]],
        polygons_labels: ["plate"],
      },
    });
    expect(px.isWhite(50, 100)).toBe(false); // box bottom edge
    expect(px.at(50, 70)).toEqual([255, 255, 255]); // box inside
    expect(px.isWhite(150, 70)).toBe(false); // polygon inside
  });

  it("outlines a quad box", async () => {
    const px = await drawOnWhite("quad", {
      "<OCR_WITH_REGION>": { quad_boxes: [[30, 40, 170, 40, 170, 100, 30, 100]], labels: ["</s>HELLO"] },
    });
    expect(px.isWhite(100, 40)).toBe(false);
    expect(px.isWhite(100, 100)).toBe(false);
    expect(px.isWhite(30, 70)).toBe(false);
    expect(px.isWhite(170, 70)).toBe(false);
    expect(px.at(100, 70)).toEqual([255, 255, 255]);
    expect(px.at(100, 112)).toEqual([255, 255, 255]);
  });

  it("draws a text result in a band at the bottom", async () => {
    const caption = "A green car parked on the side of a street, with a tree and a tall building behind it.";
    const px = await drawOnWhite("caption", { "<MORE_DETAILED_CAPTION>": caption });
    expect(px.isWhite(1, HEIGHT - 1)).toBe(false); // the band's background
    expect(px.at(100, 5)).toEqual([255, 255, 255]); // the top is left alone
  });

  it("draws on the EXIF-oriented image and writes a PNG of that size", async () => {
    const input = fixturePath("images", "exif_rot90_400x300.jpg");
    const stored = await sharp(input).metadata();
    expect([stored.width, stored.height, stored.orientation]).toEqual([400, 300, 6]);

    const out = join(dir, "rotated", "exif.png");
    // A box only an oriented (300x400) canvas holds: y up to 390 is off a 400x300 one.
    await drawResult(input, { "<OD>": { bboxes: [[20, 300, 280, 390]], labels: ["x"] } }, out);
    const meta = await sharp(out).metadata();
    expect(meta.format).toBe("png");
    expect([meta.width, meta.height]).toEqual([300, 400]);

    // The box lands where the oriented coordinates say: compare with the image drawn bare.
    const bare = join(dir, "rotated", "bare.png");
    await drawResult(input, {}, bare);
    const [drawn, plain] = [await readPixels(out), await readPixels(bare)];
    expect(drawn.at(150, 390)).not.toEqual(plain.at(150, 390)); // bottom edge
    expect(drawn.at(150, 345)).toEqual(plain.at(150, 345)); // inside
    expect(drawn.at(150, 150)).toEqual(plain.at(150, 150)); // above
  });

  it("accepts a Buffer as the image", async () => {
    const out = join(dir, "buffer.png");
    await drawResult(readFileSync(white), { "<CAPTION>": "A white square." }, out);
    expect((await sharp(out).metadata()).format).toBe("png");
  });

  it("skips what cannot be drawn without throwing", async () => {
    const odd: Record<string, unknown>[] = [
      {
        "<OD>": {
          bboxes: [
            [10, 10, 50, 50],
            [60, 60, 90, 90],
          ],
          labels: ["only one"],
        },
      },
      { "<OD>": { bboxes: [[10, 10, 50, 50]], labels: ["a", "b", "c"] } },
      { "<OD>": { bboxes: [], labels: [] } },
      { "<OD>": { bboxes: [[10, 10, 50]], labels: ["three numbers"] } },
      { "<OD>": { bboxes: [[10, "x", 50, 50], null, [NaN, 1, 2, 3], 5], labels: [null, 7, { a: 1 }] } },
      { "<OD>": { bboxes: "nope", labels: "nope" } },
      { "<OCR_WITH_REGION>": { quad_boxes: [[1, 2, 3, 4, 5, 6]], labels: ["short quad"] } },
      { "<REGION_TO_SEGMENTATION>": { polygons: [[[1, 2, 3, 4]], [[1, 2, 3]], [], [10, 10, 50, 10, 30, 40]], labels: [] } },
      {
        "<REGION_PROPOSAL>": {
          bboxes: [
            [5, 5, 20, 20],
            [30, 30, 60, 60],
          ],
          labels: ["", ""],
        },
      },
      { "<OD>": { bboxes: [[1e300, -1e300, 5, 5]], labels: ["huge \u0000 <&>\"' \uD800"] } },
      { "<UNKNOWN_TASK>": { something: [1, 2, 3] } },
      { "<UNKNOWN_TASK>": 42, "<CAPTION>": "", "<OCR>": null },
      {},
    ];
    for (const [i, result] of odd.entries()) {
      const px = await drawOnWhite(`odd-${i}`, result);
      expect([px.width, px.height]).toEqual([WIDTH, HEIGHT]);
    }
  });
});
