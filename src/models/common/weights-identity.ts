/**
 * What identifies a model by content, so an output folder can prove its rows came from the same
 * weights: a SHA-256 over each file the model loads (name, size, content hash). A path alone is
 * not enough: a graph replaced in place, or another model copied to the same folder, keeps it.
 *
 * Files in the Hugging Face cache are links to blobs named by their content hash (SHA-256 for
 * LFS files, the git blob id for small ones), so those cost nothing. A local folder's files are
 * hashed once: each hash is kept in the cache folder under the file's device, inode, size, mtime
 * and ctime, which any rewrite, copy or `touch` changes (ctime cannot be set back by hand).
 */
import { createHash } from "node:crypto";
import { createReadStream, mkdirSync, type Stats, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { defaultCacheDir } from "../../io/cache-dir.js";

/** What a cached hash was computed from: a change to any of these means the file is not the one hashed. */
interface HashedFile {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  sha256: string;
}

const HUB_BLOB = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** `sha256:<hex>` over the files (paths relative to `dir`), in name order. */
export async function weightsIdentity(dir: string, files: string[], cacheRoot: string = defaultCacheDir()): Promise<string> {
  const cache = new HashCache(cacheRoot, dir);
  const lines: string[] = [];
  for (const file of [...new Set(files)].sort()) {
    const path = join(dir, file);
    const info = statSync(path);
    lines.push(`${file}\t${info.size}\t${await contentHash(path, info, cache)}\n`);
  }
  cache.save();
  return `sha256:${createHash("sha256").update(lines.join("")).digest("hex")}`;
}

async function contentHash(path: string, info: Stats, cache: HashCache): Promise<string> {
  const real = realpathSync(path);
  // A hub cache blob is named by its content hash: the download checked it.
  if (basename(dirname(real)) === "blobs" && HUB_BLOB.test(basename(real))) return `blob:${basename(real)}`;
  const known = cache.get(real);
  const now = { dev: info.dev, ino: info.ino, size: info.size, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs };
  if (known && known.dev === now.dev && known.ino === now.ino && known.size === now.size && known.mtimeMs === now.mtimeMs && known.ctimeMs === now.ctimeMs) {
    return known.sha256;
  }
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(real, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  const sha256 = hash.digest("hex");
  cache.set(real, { ...now, sha256 });
  return sha256;
}

/** The hashes of one model folder's files, in `<cache>/file-hashes/`; a cache that cannot be read or written is only slower. */
class HashCache {
  private readonly path: string;
  private entries: Record<string, HashedFile> = {};
  private changed = false;

  constructor(root: string, dir: string) {
    let real = dir;
    try {
      real = realpathSync(dir);
    } catch {
      // hashed by the name given
    }
    this.path = join(root, "file-hashes", `${createHash("sha256").update(real).digest("hex").slice(0, 32)}.json`);
    try {
      this.entries = JSON.parse(readFileSync(this.path, "utf8")) as Record<string, HashedFile>;
    } catch {
      this.entries = {};
    }
  }

  get(key: string): HashedFile | undefined {
    return this.entries[key];
  }

  set(key: string, value: HashedFile): void {
    this.entries[key] = value;
    this.changed = true;
  }

  save(): void {
    if (!this.changed) return;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      const temporary = `${this.path}.${process.pid}.tmp`;
      writeFileSync(temporary, JSON.stringify(this.entries));
      renameSync(temporary, this.path);
    } catch {
      // A read-only home: the files are hashed again next time.
    }
  }
}
