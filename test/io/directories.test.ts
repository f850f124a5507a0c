import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkOutputFolder, FolderNotWritableError, makeFolder, OutputFolderError } from "../../src/io/directories.js";
import { canMountTmpfs } from "../helpers/tmpfs.js";

const tmp = () => mkdtempSync(join(tmpdir(), "emb-dirs-"));

describe("output folders that cannot be made or written", () => {
  it("a file where the folder, or a folder above it, would be is named (a usage error)", () => {
    const file = join(tmp(), "taken");
    writeFileSync(file, "x");
    expect(() => makeFolder(file)).toThrow(new OutputFolderError(`${file} is a file, not a folder; choose a folder (a new one is made), or remove that file`));
    expect(() => makeFolder(join(file, "a", "b"))).toThrow(
      new OutputFolderError(`cannot create ${join(file, "a", "b")} (${file} is a file, not a folder); choose another folder`),
    );
    expect(() => checkOutputFolder(file, "--out")).toThrow(
      new OutputFolderError(`--out ${file} is a file, not a folder; give a folder (a new one is made), or remove that file`),
    );
    expect(() => checkOutputFolder(join(file, "sub"), "--out")).toThrow(
      new OutputFolderError(`--out ${join(file, "sub")} cannot be made: ${file} is a file, not a folder; choose another folder`),
    );
  });

  it("a writable folder passes, is made, and keeps nothing of the check", () => {
    const dir = join(tmp(), "a", "b");
    checkOutputFolder(dir, "--out");
    expect(existsSync(dir)).toBe(false);
    makeFolder(dir);
    expect(readdirSync(dir)).toEqual([]);
  });

  it.skipIf(!canMountTmpfs())("a read-only or full disk is an environment error naming the folder and the fix", () => {
    const ro = tmp();
    const full = tmp();
    execFileSync("mount", ["-t", "tmpfs", "-o", "ro,size=16k", "tmpfs", ro]);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=16k", "tmpfs", full]);
    try {
      expect(() => makeFolder(ro)).toThrow(new FolderNotWritableError(`cannot write to ${ro} (a read-only file system); choose a folder on a writable disk`));
      expect(() => makeFolder(join(ro, "x"))).toThrow(
        new FolderNotWritableError(`cannot create ${join(ro, "x")} (a read-only file system); choose a folder on a writable disk`),
      );
      expect(() => checkOutputFolder(join(ro, "x"), "--out")).toThrow(
        new FolderNotWritableError(`--out ${join(ro, "x")} cannot be made in ${ro} (a read-only file system); choose a folder on a writable disk`),
      );
      try {
        writeFileSync(join(full, "filler"), Buffer.alloc(64 * 1024));
      } catch {
        // full, as wanted
      }
      expect(() => makeFolder(join(full, "out"))).toThrow(
        new FolderNotWritableError(
          `cannot write to ${join(full, "out")} (the disk is full, ENOSPC); free space (or choose a folder on another disk) and run the same command again`,
        ),
      );
      expect(readdirSync(join(full, "out"))).toEqual([]);
    } finally {
      execFileSync("umount", [ro]);
      execFileSync("umount", [full]);
    }
  });
});
