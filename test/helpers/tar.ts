/** Builds tar files for tests with tar-stream's packer (the library the reader uses, from the other side). */
import { writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { pack } from "tar-stream";

export interface Member {
  name: string;
  data: Buffer | string;
  /** Defaults to 2024-01-02T03:04:05Z: tars keep whole seconds. */
  mtime?: Date;
  type?: "file" | "directory";
}

export async function tarBytes(members: Member[]): Promise<Buffer> {
  const packer = pack();
  const collected = (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of packer) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  })();
  for (const m of members) {
    const mtime = m.mtime ?? new Date("2024-01-02T03:04:05Z");
    if (m.type === "directory") packer.entry({ name: m.name, type: "directory", mtime });
    else packer.entry({ name: m.name, mtime }, typeof m.data === "string" ? Buffer.from(m.data) : m.data);
  }
  packer.finalize();
  return collected;
}

/** Writes a tar (gzipped when the name ends in .tgz or .tar.gz); `keep` cuts it to that many bytes, as a broken download would. */
export async function writeTar(path: string, members: Member[], keep?: number): Promise<void> {
  let bytes = await tarBytes(members);
  if (/\.(tgz|tar\.gz)$/.test(path)) bytes = gzipSync(bytes);
  writeFileSync(path, keep === undefined ? bytes : bytes.subarray(0, keep));
}
