/**
 * Inputs that are not regular files (broken and looping links, named pipes, devices) and tar
 * members over the size limit: the walk reports each with a reason, reads none, and never waits.
 */
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkInputs, walkImages, type SourceFile, type WalkOptions } from "../../src/sources/image-files.js";
import { PathList } from "../../src/sources/path-list.js";
import { readTarSamples } from "../../src/sources/tar.js";
import { fixturePath } from "../helpers/fixtures.js";
import { writeTar } from "../helpers/tar.js";

const tmp = () => mkdtempSync(join(tmpdir(), "emb-special-"));
const mkfifo = (path: string) => execFileSync("mkfifo", [path]);

async function walked(inputs: string[], options: WalkOptions = {}): Promise<Pick<SourceFile, "path" | "reason" | "error">[]> {
  const out: Pick<SourceFile, "path" | "reason" | "error">[] = [];
  for await (const { path, reason, error } of walkImages(inputs, options)) out.push(error ? { path, reason, error } : { path });
  return out;
}

describe.skipIf(process.platform !== "linux")("inputs that are not regular files", () => {
  it("in a folder, those under an image extension are reported with a reason; the rest are passed over", async () => {
    const dir = tmp();
    copyFileSync(fixturePath("images", "small_64x48.jpg"), join(dir, "a-good.jpg"));
    symlinkSync(join(dir, "missing.jpg"), join(dir, "broken.jpg"));
    symlinkSync("loop.jpg", join(dir, "loop.jpg"));
    mkfifo(join(dir, "pipe.jpg"));
    mkfifo(join(dir, "pipe"));
    symlinkSync(join(dir, "pipe"), join(dir, "pipe-link.png"));
    symlinkSync("/dev/zero", join(dir, "zero.jpg"));
    symlinkSync(join(dir, "missing"), join(dir, "broken-no-extension"));
    const started = performance.now();
    expect(await walked([dir])).toEqual([
      { path: join(dir, "a-good.jpg") },
      {
        path: join(dir, "broken.jpg"),
        reason: "broken-link",
        error: `a broken symbolic link: it points to ${join(dir, "missing.jpg")}, which does not exist; fix or remove the link`,
      },
      {
        path: join(dir, "loop.jpg"),
        reason: "broken-link",
        error: "a symbolic link to loop.jpg that loops back on itself (ELOOP) and reaches no file: fix or remove the link",
      },
      {
        path: join(dir, "pipe-link.png"),
        reason: "not-a-file",
        error: `a symbolic link to ${join(dir, "pipe")}, which is a named pipe (FIFO), not a regular file: only regular files are read`,
      },
      { path: join(dir, "pipe.jpg"), reason: "not-a-file", error: "this is a named pipe (FIFO), not a regular file: only regular files are read" },
      {
        path: join(dir, "zero.jpg"),
        reason: "not-a-file",
        error: "a symbolic link to /dev/zero, which is a character device, not a regular file: only regular files are read",
      },
    ]);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("given as arguments or listed in --files-from, they are reported the same; only a path that is not there at all stops the run", async () => {
    const dir = tmp();
    symlinkSync(join(dir, "missing.jpg"), join(dir, "broken.jpg"));
    mkfifo(join(dir, "pipe.jpg"));
    symlinkSync("/dev/zero", join(dir, "zero"));
    const inputs = [join(dir, "broken.jpg"), join(dir, "pipe.jpg"), join(dir, "zero")];
    await checkInputs(inputs); // a broken link exists
    await expect(checkInputs([join(dir, "nothing.jpg")])).rejects.toThrow(`${join(dir, "nothing.jpg")}: no such file or directory`);
    const expected = [
      { path: inputs[0], reason: "broken-link" },
      { path: inputs[1], reason: "not-a-file" },
      { path: inputs[2], reason: "not-a-file" },
    ];
    const reasons = (files: Awaited<ReturnType<typeof walked>>) => files.map(({ path, reason }) => ({ path, reason }));
    expect(reasons(await walked(inputs))).toEqual(expected);
    const list = join(dir, "list.txt");
    writeFileSync(list, `${inputs.join("\n")}\n`);
    expect(reasons(await walked([], { list: await PathList.open(list) }))).toEqual(expected);
  });

  it("a named pipe given as a .tar is reported, not opened", async () => {
    const dir = tmp();
    const tar = join(dir, "shard.tar");
    mkfifo(tar);
    expect(await walked([tar], { tars: true })).toEqual([
      { path: tar, reason: "not-a-file", error: "this is a named pipe (FIFO), not a regular file: only regular files are read" },
    ]);
    const items = [];
    for await (const item of readTarSamples(tar, ["jpg"])) items.push(item);
    expect(items).toEqual([{ kind: "damaged", path: tar, error: "cannot read this tar (it is not a regular file; only regular files are read)" }]);
  });

  it("a --files-from list that is a pipe (<(find ...)) is read once and kept, as standard input is", async () => {
    const list = join(tmp(), "list");
    mkfifo(list);
    const writer = spawn("sh", ["-c", `printf 'a.jpg\\nb.jpg\\n' > '${list}'`]);
    const written = new Promise((resolve) => writer.on("close", resolve));
    const paths = await PathList.open(list);
    const all = async () => {
      const out: string[] = [];
      for await (const path of paths.paths()) out.push(path);
      return out;
    };
    expect(await all()).toEqual(["a.jpg", "b.jpg"]);
    expect(await all()).toEqual(["a.jpg", "b.jpg"]);
    expect(await written).toBe(0);
  });
});

describe("tar members over the size limit", () => {
  it("are reported with their size and the limit, not buffered; the samples around them are read", async () => {
    const jpg = readFileSync(fixturePath("images", "small_64x48.jpg"));
    const tar = join(tmp(), "shard.tar");
    await writeTar(tar, [
      { name: "000.jpg", data: jpg },
      { name: "001.jpg", data: Buffer.alloc(2_000_000) },
      { name: "001.txt", data: "a caption" },
      { name: "002.jpg", data: jpg },
    ]);
    const found = await walked([tar], { tars: true, maxFileSize: 1_000_000 });
    expect(found).toEqual([
      { path: `${tar}/000` },
      {
        path: `${tar}/001`,
        reason: "too-large",
        error: "its image member (.jpg) is 2.0 MB (2000000 bytes), over the limit of 1 MB (raise it with --max-file-size)",
      },
      { path: `${tar}/002` },
    ]);
    const samples = [];
    for await (const item of readTarSamples(tar, ["jpg"], 1_000_000)) if (item.kind === "sample") samples.push(item.sample);
    expect(samples[1]).toMatchObject({ tooLarge: { size: 2_000_000, extension: "jpg" }, extensions: ["jpg", "txt"] });
    expect(samples[1].image).toBeUndefined();
  });
});
