import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { walkImages } from "../../src/sources/image-files.js";

async function collect(inputs: string[], extensions?: string[]): Promise<string[]> {
  const out: string[] = [];
  for await (const f of walkImages(inputs, { extensions })) out.push(f.path);
  return out;
}

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), "emb-walk-"));
  for (const d of ["b", "a/z", "a/y"]) mkdirSync(join(root, d), { recursive: true });
  for (const f of ["b/2.JPG", "b/1.png", "a/z/x.webp", "a/y/readme.txt", "a/y/w.jpeg", "top.gif", "notes.md"]) {
    writeFileSync(join(root, f), "x");
  }
  return root;
}

describe("walkImages", () => {
  it("yields image files depth-first in sorted order, by extension, case-insensitively", async () => {
    const root = tree();
    const found = await collect([root]);
    expect(found.map((p) => p.slice(root.length + 1))).toEqual(["a/y/w.jpeg", "a/z/x.webp", "b/1.png", "b/2.JPG", "top.gif"]);
  });

  it("filters by the given extensions and takes files named directly whatever they are", async () => {
    const root = tree();
    const found = await collect([root, join(root, "notes.md")], ["png"]);
    expect(found.map((p) => p.slice(root.length + 1))).toEqual(["b/1.png", "notes.md"]);
  });

  it("survives a symlink loop and visits a directory reached twice only once", async () => {
    const root = tree();
    symlinkSync(root, join(root, "a", "loop"));
    symlinkSync(join(root, "b"), join(root, "c-link-to-b"));
    symlinkSync(join(root, "missing"), join(root, "dangling"));
    const found = await collect([root]);
    expect(found.map((p) => p.slice(root.length + 1))).toEqual(["a/y/w.jpeg", "a/z/x.webp", "b/1.png", "b/2.JPG", "top.gif"]);
  });

  it("walks 100,000 files without running out of file handles", async () => {
    const root = mkdtempSync(join(tmpdir(), "emb-walk-many-"));
    for (let d = 0; d < 100; d++) {
      const dir = join(root, String(d).padStart(3, "0"));
      mkdirSync(dir);
      for (let f = 0; f < 1000; f++) writeFileSync(join(dir, `${f}.jpg`), "");
    }
    let count = 0;
    for await (const _ of walkImages([root])) count++;
    expect(count).toBe(100_000);
  });

  it("names an input that does not exist", async () => {
    await expect(collect(["/no/such/folder"])).rejects.toThrow("/no/such/folder: no such file or directory");
  });
});
