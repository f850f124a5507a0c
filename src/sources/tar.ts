/**
 * webdataset shards as a source: a `.tar` (or `.tar.gz`, `.tgz`) read as a stream of samples, as
 * webdataset groups them. Each member's path splits at the first dot of its base name into the
 * sample key (`a/b/c` for `a/b/c.seg.jpg`) and the extension (`seg.jpg`, lower-cased);
 * consecutive members with the same key make one sample. A sample's image is its member whose
 * extension comes first in the extension list (jpg, jpeg, png, webp, ... by default).
 *
 * The tar is streamed (tar-stream): only the members of the sample being read are in memory, and
 * an image member over the size limit is skipped unread and reported. A damaged or truncated tar
 * ends with an error item after the samples read before the damage.
 */
import { constants, type ReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { pipeline } from "node:stream";
import { createGunzip } from "node:zlib";
import { extract } from "tar-stream";

/** What a sample of a tar gives the image stage. */
export interface TarSample {
  /** `<tar path>/<key>`: the record path that joins results back to the tar and its sidecars. */
  path: string;
  /** The image member: its bytes, size and modification time; absent when the sample has none. */
  image?: { data: Buffer; size: number; mtimeMs: number; extension: string };
  /** Set instead of `image` when the image member is over the size limit: its size and extension. */
  tooLarge?: { size: number; extension: string };
  /** The sample's extensions, in tar order (for the message of a sample without an image). */
  extensions: string[];
}

export type TarItem = { kind: "sample"; sample: TarSample } | { kind: "damaged"; path: string; error: string };

export const isTarPath = (path: string) => /\.(tar|tar\.gz|tgz)$/i.test(path);

/** Whether a record path names a sample inside a tar (`shard.tar/key`) rather than a file. */
export const isTarSamplePath = (path: string) => /\.(tar|tar\.gz|tgz)\//i.test(path);

/** A member path as key and extension, as webdataset splits it; undefined for a name without an extension. */
export function splitMemberName(name: string): { key: string; extension: string } | undefined {
  const slash = name.lastIndexOf("/");
  const base = name.slice(slash + 1);
  const dot = base.indexOf(".");
  if (dot <= 0 || dot === base.length - 1) return undefined;
  return { key: name.slice(0, slash + 1 + dot), extension: base.slice(dot + 1).toLowerCase() };
}

/**
 * The samples of the tar at `path`, in tar order. `imageExtensions` ranks the extensions an image
 * may have; the first one a sample has is its image. Only that member's bytes are kept, and only
 * when it is at most `maxMemberSize` bytes.
 */
export async function* readTarSamples(path: string, imageExtensions: string[], maxMemberSize = Infinity): AsyncGenerator<TarItem> {
  const rank = new Map(imageExtensions.map((e, i) => [e.toLowerCase().replace(/^\./, ""), i]));
  let file: ReadStream;
  try {
    file = await openTar(path);
  } catch (error) {
    yield { kind: "damaged", path, error: `cannot read this tar (${(error as Error).message})` };
    return;
  }
  const tar = extract();
  // pipeline() carries a read or gunzip error into the extractor, whose iteration then throws it.
  if (/\.(tar\.gz|tgz)$/i.test(path)) pipeline(file, createGunzip(), tar, () => {});
  else pipeline(file, tar, () => {});

  let current: (TarSample & { rank: number }) | undefined;
  const finish = (): TarItem | undefined => {
    if (!current) return undefined;
    const { rank: _, ...sample } = current;
    current = undefined;
    return { kind: "sample", sample };
  };
  let read = 0;
  try {
    for await (const entry of tar) {
      const { name, type, size = 0, mtime } = entry.header;
      const parts = type === "file" || type === "contiguous-file" ? splitMemberName(name.replace(/^\.\//, "")) : undefined;
      if (!parts) {
        entry.resume();
        continue;
      }
      if (current && current.path !== `${path}/${parts.key}`) {
        const done = finish()!;
        read++;
        yield done;
      }
      current ??= { path: `${path}/${parts.key}`, extensions: [], rank: Infinity };
      current.extensions.push(parts.extension);
      const r = rank.get(parts.extension) ?? Infinity;
      if (r < current.rank && size > maxMemberSize) {
        entry.resume(); // not buffered: the sample is reported instead
        current.rank = r;
        current.image = undefined;
        current.tooLarge = { size, extension: parts.extension };
      } else if (r < current.rank) {
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        current.rank = r;
        current.tooLarge = undefined;
        current.image = { data: Buffer.concat(chunks), size, mtimeMs: mtime ? mtime.getTime() : 0, extension: parts.extension };
      } else {
        entry.resume();
      }
    }
  } catch (error) {
    // The sample being read when the damage came may be cut short: it is part of what is reported.
    const at = current ? ` in sample ${current.path}` : "";
    current = undefined;
    const message = (error as Error).message;
    yield {
      kind: "damaged",
      path,
      error: `the tar is damaged or truncated${at} (${message}) after ${read} complete sample(s), which were read; the rest of it was skipped: copy or download it again`,
    };
    return;
  } finally {
    file.destroy();
  }
  const last = finish();
  if (last) yield last;
}

/** Opens a tar that is a regular file; O_NONBLOCK: a named pipe put in its place since the walk must not hang the open. */
async function openTar(path: string): Promise<ReadStream> {
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    if (!(await handle.stat()).isFile()) throw new Error("it is not a regular file; only regular files are read");
  } catch (error) {
    await handle.close();
    throw error;
  }
  return handle.createReadStream();
}
