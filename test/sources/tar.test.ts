import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readTarSamples, splitMemberName, type TarItem } from "../../src/sources/tar.js";
import { DEFAULT_EXTENSIONS, walkImages } from "../../src/sources/image-files.js";
import { fixturePath } from "../helpers/fixtures.js";
import { tarBytes, writeTar, type Member } from "../helpers/tar.js";

const tmp = () => mkdtempSync(join(tmpdir(), "emb-tar-"));
const jpg = readFileSync(fixturePath("images", "small_64x48.jpg"));
const png = readFileSync(fixturePath("images", "tiny_1x1.png"));

async function items(path: string, extensions = DEFAULT_EXTENSIONS): Promise<TarItem[]> {
  const out: TarItem[] = [];
  for await (const item of readTarSamples(path, extensions)) out.push(item);
  return out;
}

/** The samples as [path, image extension, image bytes' length] and damage as ["damaged", path]. */
const shown = (list: TarItem[]) =>
  list.map((i) => (i.kind === "damaged" ? ["damaged", i.path] : [i.sample.path, i.sample.image?.extension ?? null, i.sample.image?.data.length ?? null]));

const members: Member[] = [
  { name: "dir", data: "", type: "directory" },
  { name: "000.jpg", data: jpg },
  { name: "000.txt", data: "a caption" },
  { name: "000.json", data: "{}" },
  { name: "001.txt", data: "no image here" },
  { name: "a/b/c.jpg", data: jpg },
  { name: "a/b/c.seg.png", data: png },
  { name: "UP.PNG", data: png },
  { name: "UP.Json", data: "{}" },
  { name: "both.png", data: png },
  { name: "both.jpeg", data: jpg },
  { name: "README", data: "no extension: not part of a sample" },
];

describe("webdataset keys", () => {
  it("splits a member path at the first dot of its base name; the extension is lower-cased", () => {
    expect(splitMemberName("a/b/c.jpg")).toEqual({ key: "a/b/c", extension: "jpg" });
    expect(splitMemberName("a.b/c.seg.PNG")).toEqual({ key: "a.b/c", extension: "seg.png" });
    expect(splitMemberName("000.JPG")).toEqual({ key: "000", extension: "jpg" });
    expect(splitMemberName("README")).toBeUndefined();
    expect(splitMemberName("dir/.hidden")).toBeUndefined();
  });
});

describe("readTarSamples", () => {
  it("groups consecutive members by key and takes the image with the first extension of the list", async () => {
    const dir = tmp();
    const tar = join(dir, "shard.tar");
    await writeTar(tar, members);
    expect(shown(await items(tar))).toEqual([
      [`${tar}/000`, "jpg", jpg.length],
      [`${tar}/001`, null, null],
      [`${tar}/a/b/c`, "jpg", jpg.length],
      [`${tar}/UP`, "png", png.length],
      // jpeg comes before png in the list, whatever the order in the tar.
      [`${tar}/both`, "jpeg", jpg.length],
    ]);
    const [first] = await items(tar);
    expect(first.kind === "sample" && first.sample.image).toMatchObject({ size: jpg.length, mtimeMs: Date.parse("2024-01-02T03:04:05Z") });
    expect(first.kind === "sample" && first.sample.image!.data.equals(jpg)).toBe(true);
    expect(first.kind === "sample" && first.sample.extensions).toEqual(["jpg", "txt", "json"]);
    // A different preference: png first.
    expect(shown(await items(tar, ["png", "jpeg", "jpg"])).map((s) => s[1])).toEqual(["jpg", null, "jpg", "png", "png"]);
  });

  it("reads .tgz and .tar.gz as the same samples", async () => {
    const dir = tmp();
    for (const name of ["shard.tgz", "shard.tar.gz"]) {
      const tar = join(dir, name);
      await writeTar(tar, members);
      expect(shown(await items(tar)).map((s) => String(s[0]).slice(tar.length))).toEqual(["/000", "/001", "/a/b/c", "/UP", "/both"]);
    }
  });

  it("a truncated tar gives the samples before the damage, then one damaged item", async () => {
    const dir = tmp();
    const whole = await tarBytes(members);
    // Cut inside a/b/c.seg.png's data: 000 and 001 are complete, a/b/c is the one being read.
    const cutAt = whole.indexOf(Buffer.from("a/b/c.seg.png")) + 512 + 20;
    const tar = join(dir, "cut.tar");
    await writeTar(tar, members, cutAt);
    const got = await items(tar);
    expect(shown(got)).toEqual([
      [`${tar}/000`, "jpg", jpg.length],
      [`${tar}/001`, null, null],
      ["damaged", tar],
    ]);
    const damage = got[2].kind === "damaged" ? got[2].error : "";
    expect(damage).toContain(`the tar is damaged or truncated in sample ${tar}/a/b/c`);
    expect(damage).toContain("after 2 complete sample(s)");
    const gz = join(dir, "cut.tgz");
    await writeTar(gz, members);
    const gzBytes = readFileSync(gz);
    writeFileSync(gz, gzBytes.subarray(0, gzBytes.length - 40));
    expect(shown(await items(gz)).at(-1)).toEqual(["damaged", gz]);
  });

  it("a file that is not a tar is one damaged item", async () => {
    const tar = join(tmp(), "not.tar");
    writeFileSync(tar, jpg);
    expect(shown(await items(tar))).toEqual([["damaged", tar]]);
  });
});

describe("walkImages with tars", () => {
  it("yields a tar's samples for a tar given as an input, and a sample without an image as a failure", async () => {
    const dir = tmp();
    const tar = join(dir, "shard.tar");
    await writeTar(tar, members);
    const found = [];
    for await (const f of walkImages([tar], { tars: true })) found.push(f);
    expect(found.map((f) => [f.path, f.reason ?? null, f.member?.size ?? null])).toEqual([
      [`${tar}/000`, null, jpg.length],
      [`${tar}/001`, "no-image", null],
      [`${tar}/a/b/c`, null, jpg.length],
      [`${tar}/UP`, null, png.length],
      [`${tar}/both`, null, jpg.length],
    ]);
    expect(found[1].error).toContain("this sample has no image (its members: txt;");
    // Without tars (emb perf, knn datasets) a tar given directly is a file like any other.
    const plain = [];
    for await (const f of walkImages([tar])) plain.push(f.path);
    expect(plain).toEqual([tar]);
  });

  it("a tar is one input of a shard: all its samples go to one shard", async () => {
    const dir = tmp();
    const tars = ["a.tar", "b.tar", "c.tar", "d.tar"].map((n) => join(dir, n));
    for (const t of tars) await writeTar(t, members.slice(1, 4));
    const per = [];
    for (const index of [0, 1]) {
      const got = [];
      for await (const f of walkImages(tars, { tars: true, shard: { index, count: 2 } })) got.push(f.path.replace(/\/000$/, ""));
      per.push(got);
    }
    expect([...per[0], ...per[1]].sort()).toEqual(tars);
  });
});
