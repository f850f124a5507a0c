import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { PathList } from "../../src/sources/path-list.js";

async function all(list: PathList): Promise<string[]> {
  const out: string[] = [];
  for await (const p of list.paths()) out.push(p);
  return out;
}

describe("--files-from lists", () => {
  it("reads one path per line; blank lines and a trailing CR are ignored, spaces kept", async () => {
    const dir = mkdtempSync(join(tmpdir(), "emb-list-"));
    const file = join(dir, "list.txt");
    writeFileSync(file, "./photos/a.jpg\r\n\r\nphotos/with space.jpg\n   \n/abs/b.png\r\n  lead.jpg");
    const list = await PathList.open(file);
    const expected = ["./photos/a.jpg", "photos/with space.jpg", "/abs/b.png", "  lead.jpg"];
    expect(await all(list)).toEqual(expected);
    // A file list can be read again (the walk counts, then runs).
    expect(await all(list)).toEqual(expected);
  });

  it("a list starting with a byte-order mark (a Windows editor's) keeps its first path", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "emb-list-")), "list.txt");
    writeFileSync(file, "\ufeffphotos/a.jpg\r\nphotos/b.jpg\r\n");
    expect(await all(await PathList.open(file))).toEqual(["photos/a.jpg", "photos/b.jpg"]);
  });

  it("- reads standard input once and keeps it for the second pass", async () => {
    const list = await PathList.open("-", Readable.from(["x.jpg\r\n", "y", " z.jpg\n\n"]));
    expect(await all(list)).toEqual(["x.jpg", "y z.jpg"]);
    expect(await all(list)).toEqual(["x.jpg", "y z.jpg"]);
  });

  it("a missing list, or a folder given as one, is an error naming it and the fix", async () => {
    const dir = mkdtempSync(join(tmpdir(), "emb-list-"));
    await expect(PathList.open(join(dir, "nope.txt"))).rejects.toThrow(
      `--files-from ${join(dir, "nope.txt")}: no such file; give a file of paths, one per line`,
    );
    await expect(PathList.open(dir)).rejects.toThrow(`--files-from ${dir}: is a folder, not a file of paths`);
  });
});
