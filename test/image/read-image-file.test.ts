import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ImageReadError, readImageFile, sha256ImageFile } from "../../src/image/read-image-file.js";
import { fixturePath } from "../helpers/fixtures.js";

const tmp = () => mkdtempSync(join(tmpdir(), "emb-read-"));

async function refusal(read: Promise<unknown>): Promise<ImageReadError> {
  const error = await read.then(
    () => undefined,
    (e) => e,
  );
  expect(error).toBeInstanceOf(ImageReadError);
  return error;
}

describe("readImageFile", () => {
  it("reads a regular file whole, through a link too, and hashes the same bytes", async () => {
    const file = fixturePath("images", "photo_500x375.jpg");
    const link = join(tmp(), "link.jpg");
    symlinkSync(file, link);
    const bytes = readFileSync(file);
    expect((await readImageFile(file)).equals(bytes)).toBe(true);
    expect((await readImageFile(link)).equals(bytes)).toBe(true);
    expect(await sha256ImageFile(link)).toBe(createHash("sha256").update(bytes).digest("hex"));
  });

  it.skipIf(process.platform === "win32")("refuses a named pipe at once, with nobody writing to it", async () => {
    const fifo = join(tmp(), "pipe.jpg");
    execFileSync("mkfifo", [fifo]);
    const started = performance.now();
    const error = await refusal(readImageFile(fifo));
    expect(error.reason).toBe("not-a-file");
    expect(error.message).toBe("this is a named pipe (FIFO), not a regular file: only regular files are read");
    expect((await refusal(sha256ImageFile(fifo))).reason).toBe("not-a-file");
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it.skipIf(process.platform !== "linux")("refuses /dev/zero, through a link too", async () => {
    const link = join(tmp(), "zero.jpg");
    symlinkSync("/dev/zero", link);
    expect((await refusal(readImageFile(link))).message).toBe("this is a character device, not a regular file: only regular files are read");
  });

  it("refuses a file over the size limit, naming its size, the limit and the flag", async () => {
    const file = join(tmp(), "big.jpg");
    writeFileSync(file, Buffer.alloc(1_500_000));
    const error = await refusal(readImageFile(file, 1_000_000));
    expect(error.reason).toBe("too-large");
    expect(error.message).toBe("this file is 1.5 MB (1500000 bytes), over the limit of 1 MB (raise it with --max-file-size)");
    expect((await refusal(sha256ImageFile(file, 1_000_000))).reason).toBe("too-large");
    expect((await readImageFile(file, 1_500_000)).length).toBe(1_500_000);
  });

  it("refuses a folder", async () => {
    expect((await refusal(readImageFile(tmp()))).message).toBe("this is a folder, not a regular file: only regular files are read");
  });
});
