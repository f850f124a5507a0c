/** toCliError for errors no job turned into its own message: what the user sees instead of an errno or "[object Object]". */
import { describe, expect, it } from "vitest";
import { EXIT, toCliError } from "../../src/cli/errors.js";
import { FolderNotWritableError, OutputFolderError } from "../../src/io/directories.js";

const errno = (code: string, message: string, path?: string) => Object.assign(new Error(message), { code, ...(path ? { path } : {}) });

describe("errors from the disk", () => {
  it("a full disk met on a write without a path names the output folder and the fix, not 'report it' (exit 1)", () => {
    const mapped = toCliError(errno("ENOSPC", "ENOSPC: no space left on device, write"), "emb-out");
    expect(mapped.message).toBe(
      "cannot write into emb-out (the disk is full, ENOSPC); free space (or choose a folder on another disk) and run the same command again",
    );
    expect(mapped.oclif.exit).toBe(EXIT.fatal);
    expect(mapped.code).toBe("disk");
    expect(mapped.suggestions ?? []).toEqual([]);
  });

  it("with a path it names the file; a quota, a read-only disk and a missing right likewise", () => {
    expect(toCliError(errno("EDQUOT", "EDQUOT: quota", "out/run.json")).message).toBe(
      "cannot write out/run.json (the disk quota is used up, EDQUOT); free space (or choose a folder on another disk) and run the same command again",
    );
    expect(toCliError(errno("EROFS", "EROFS: read-only", "out/x")).message).toContain("cannot write out/x (a read-only file system)");
    expect(toCliError(errno("EACCES", "EACCES: permission denied, open 'a.jpg'", "a.jpg")).message).toBe(
      "cannot open a.jpg (permission denied for this user); give this user access to it, or choose another path",
    );
  });

  it("a folder that cannot be written is the environment (1); one that cannot be a folder is usage (2)", () => {
    expect(toCliError(new FolderNotWritableError("w")).oclif.exit).toBe(EXIT.fatal);
    expect(toCliError(new OutputFolderError("f")).oclif.exit).toBe(EXIT.usage);
  });
});

describe("things thrown that are not errors", () => {
  it.each([
    [{ status: 3, detail: "bad" }, 'an object was thrown instead of an error: {"status":3,"detail":"bad"}'],
    [undefined, "undefined was thrown instead of an error"],
    [new Error(""), "Error without a message"],
    ["plain text", "plain text"],
  ])("%s", (thrown, message) => {
    const mapped = toCliError(thrown);
    expect(mapped.message).toBe(message);
    expect(mapped.message).not.toContain("[object Object]");
    expect(mapped.oclif.exit).toBe(EXIT.fatal);
  });
});
