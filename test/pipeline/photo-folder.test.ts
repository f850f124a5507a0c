/**
 * A folder holding every kind of photo the fixtures have (cameras, phones, scanners, print shops,
 * damaged files), embedded as a user would: each file the Python reference (PIL) reads gets a row
 * whose pixels test/image/photos.test.ts checks against PIL's, each file PIL refuses is listed in
 * errors.jsonl, and the few PIL reads that emb cannot are listed too, saying so. No file is
 * embedded that PIL would refuse, none is lost without a record.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readJsonl } from "../../src/io/jsonl.js";
import { parseNpy } from "../../src/io/npy.js";
import { DEFAULT_EXTENSIONS } from "../../src/sources/image-files.js";
import { runCli } from "../helpers/cli.js";
import { fixturePath, readJson } from "../helpers/fixtures.js";

interface PhotoEntry {
  kind: string;
  file: string;
  pil: { readable: boolean };
}

/** Kinds PIL reads that emb refuses with a sentence (see test/image/photos.test.ts for the wording). */
const EMB_REFUSES = ["tiff-grey12", "tiff-cielab", "tiff-tiled-planar", "tiff-old-jpeg", "avif-sequence-no-still-brand"];

describe("a folder of every photo kind", () => {
  it("has a row for each file PIL reads and an errors.jsonl record for each it refuses", () => {
    // A folder is walked for the image extensions (an SVG is not taken).
    const photos = readJson<{ photos: PhotoEntry[] }>("goldens", "photos", "manifest.json").photos.filter((p) =>
      DEFAULT_EXTENSIONS.includes(p.file.split(".").pop()!.toLowerCase()),
    );
    const out = join(mkdtempSync(join(tmpdir(), "emb-photo-kinds-")), "out");
    const run = runCli(["embed", "image", fixturePath("photos"), "--model", fixturePath("siglip-tiny"), "--out", out, "--no-progress", "--json"]);
    expect(run.status, run.stderr).toBe(3);
    const name = (path: string) => path.split("/").pop()!;
    const rows = readJsonl<{ path: string }>(join(out, "index.jsonl")).map((r) => name(r.path));
    const errors = readJsonl<{ path: string; reason: string }>(join(out, "errors.jsonl")).map((e) => name(e.path));
    const embeddable = photos.filter((p) => p.pil.readable && !EMB_REFUSES.includes(p.kind)).map((p) => p.file);
    const refused = photos.filter((p) => !p.pil.readable || EMB_REFUSES.includes(p.kind)).map((p) => p.file);
    expect(rows.sort()).toEqual(embeddable.sort());
    expect(errors.sort()).toEqual(refused.sort());
    expect(parseNpy(readFileSync(join(out, "embeddings.npy"))).shape[0]).toBe(embeddable.length);
    expect(JSON.parse(run.stdout)).toMatchObject({ embedded: embeddable.length, failed: refused.length });
  });
});
