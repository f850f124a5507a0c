/**
 * Folder-per-class datasets as the Triton deployment laid ImageNet out: `<root>/train/<label>/*` and
 * `<root>/valid/<label>/*`, named by a mapping file of `<label> <comma-separated names>` lines
 * (ImageNet's LOC_synset_mapping.txt).
 */
import { existsSync, statSync } from "node:fs";
import { isUtf8 } from "node:buffer";
import { readInputFile } from "../../sources/text.js";
import { readdir, stat } from "node:fs/promises";
import { extname, join, sep } from "node:path";
import { DEFAULT_EXTENSIONS, shownName, walkImages } from "../../sources/image-files.js";
import { compareCodePoints } from "./classifier.js";
import { mulberry32 } from "../random.js";

export class DatasetError extends Error {}

/** Label -> image files, labels and files in sorted order. */
export type Split = Map<string, string[]>;

export interface FolderDataset {
  root: string;
  train?: Split;
  valid: Split;
  /**
   * The bytes of the paths with a name that is not UTF-8, a class folder's or a file's (the path
   * shows such bytes as \xHH, as image-files.ts does): file system calls must take these.
   */
  bytes?: Map<string, Buffer>;
}

/** Where each split was read from, for refusals that name the folder and the extensions looked for. */
const splitSources = new WeakMap<Split, { dir: string; extensions: string[] }>();

export async function readFolderDataset(root: string, extensions?: string[]): Promise<FolderDataset> {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new DatasetError(`--data ${root}: no such folder`);
  const bytes = new Map<string, Buffer>();
  const valid = await readSplit(join(root, "valid"), extensions, bytes);
  if (!valid) throw new DatasetError(`${join(root, "valid")}: no such folder; the layout is <root>/train/<label>/* and <root>/valid/<label>/*`);
  const none = noImages(valid, "the evaluation classifies those");
  if (none) throw new DatasetError(none);
  const train = await readSplit(join(root, "train"), extensions, bytes);
  return { root, train, valid, ...(bytes.size > 0 ? { bytes } : {}) };
}

/**
 * Why a split holds no image at all, naming its folder, the extensions looked for and the fixes
 * (`also`: a fix beyond adding images or extensions); undefined when it has an image.
 */
function noImages(split: Split, use: string, also?: string): string | undefined {
  if ([...split.values()].some((files) => files.length > 0)) return undefined;
  const source = splitSources.get(split) ?? { dir: "the split", extensions: DEFAULT_EXTENSIONS };
  const where = split.size === 0 ? "no class folders" : `no images with the extensions ${source.extensions.join(", ")} in its ${split.size} class folder(s)`;
  const fixes = [`put the images in ${source.dir}/<label>/`, "give --ext the extensions they have", ...(also ? [also] : [])];
  return `${source.dir} has ${where}, and ${use}; ${fixes.slice(0, -1).join(", ")}${fixes.length > 2 ? "," : ""} or ${fixes.at(-1)}`;
}

async function readSplit(dir: string, extensions: string[] | undefined, bytes: Map<string, Buffer>): Promise<Split | undefined> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return undefined;
  const split: Split = new Map();
  splitSources.set(split, { dir, extensions: extensions ?? DEFAULT_EXTENSIONS });
  // Names as bytes: a class folder whose name is not UTF-8 would otherwise come back mangled and not open.
  const labels: { label: string; name: Buffer }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, encoding: "buffer" })) {
    const path = Buffer.concat([Buffer.from(dir), Buffer.from(sep), entry.name]);
    if (entry.isDirectory() || (entry.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isDirectory())) {
      labels.push({ label: shownName(entry.name), name: entry.name });
    }
  }
  labels.sort((a, b) => compareCodePoints(a.label, b.label));
  for (const { label, name } of labels) {
    const files: string[] = [];
    if (isUtf8(name)) {
      for await (const file of walkImages([join(dir, label)], { extensions })) {
        if (file.error) throw new DatasetError(`${file.path}: ${file.error}`);
        files.push(file.path);
        if (file.bytes) bytes.set(file.path, file.bytes); // a file name that is not UTF-8
      }
    } else {
      const folder = Buffer.concat([Buffer.from(dir), Buffer.from(sep), name]);
      for (const file of await walkByBytes(folder, join(dir, label), extensions ?? DEFAULT_EXTENSIONS, new Set())) {
        files.push(file.path);
        bytes.set(file.path, file.bytes);
      }
    }
    split.set(label, files);
  }
  return split;
}

/**
 * The images below a folder reachable only by its bytes, sorted as walkImages sorts, each with
 * its shown path and its bytes. Symlinked folders are followed once, as walkImages does.
 */
async function walkByBytes(folder: Buffer, shown: string, extensions: string[], seen: Set<string>): Promise<{ path: string; bytes: Buffer }[]> {
  const info = await stat(folder);
  const identity = `${info.dev}:${info.ino}`;
  if (seen.has(identity)) return [];
  seen.add(identity);
  const wanted = new Set(extensions.map((e) => e.toLowerCase().replace(/^\./, "")));
  const entries = (await readdir(folder, { withFileTypes: true, encoding: "buffer" })).map((entry) => ({ entry, name: shownName(entry.name) }));
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: { path: string; bytes: Buffer }[] = [];
  for (const { entry, name } of entries) {
    const bytes = Buffer.concat([folder, Buffer.from(sep), entry.name]);
    const path = join(shown, name);
    const target = entry.isSymbolicLink() ? await stat(bytes).catch(() => undefined) : entry;
    if (!target) continue; // a dangling link
    if (target.isDirectory()) out.push(...(await walkByBytes(bytes, path, extensions, seen)));
    else if (target.isFile() && wanted.has(extname(name).slice(1).toLowerCase())) out.push({ path, bytes });
  }
  return out;
}

/** Label -> its names, in file order. */
export type LabelMapping = Map<string, string[]>;

export function parseLabelMapping(text: string, source: string): LabelMapping {
  const mapping: LabelMapping = new Map();
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "") return;
    const match = /^\s*(\S+)\s*(.*)$/.exec(line)!;
    const [, label, rest] = match;
    if (mapping.has(label)) throw new DatasetError(`${source}:${i + 1}: label ${label} appears twice`);
    const names = rest
      .split(",")
      .map((n) => n.trim())
      .filter(Boolean);
    mapping.set(label, names.length > 0 ? names : [label]);
  });
  if (mapping.size === 0) throw new DatasetError(`${source}: no labels; each line is "<label> <comma-separated names>"`);
  return mapping;
}

export function readLabelMapping(path: string): LabelMapping {
  return parseLabelMapping(readInputFile(path, "--labels"), path);
}

export type MappingSource = "file" | "dataset" | "imagenet" | "folder-names";

/**
 * The mapping to name classes by: the given file; else `<root>/LOC_synset_mapping.txt`; else
 * the shipped ImageNet mapping when it knows every class; else the folder names themselves.
 */
export function chooseLabelMapping(
  dataset: FolderDataset,
  explicit: string | undefined,
  imagenetPath: string,
): { mapping: LabelMapping; source: MappingSource; path?: string } {
  if (explicit) return { mapping: readLabelMapping(explicit), source: "file", path: explicit };
  const local = join(dataset.root, "LOC_synset_mapping.txt");
  if (existsSync(local)) return { mapping: readLabelMapping(local), source: "dataset", path: local };
  const labels = new Set([...dataset.valid.keys(), ...(dataset.train?.keys() ?? [])]);
  const imagenet = readLabelMapping(imagenetPath);
  if ([...labels].every((l) => imagenet.has(l))) return { mapping: imagenet, source: "imagenet", path: imagenetPath };
  return { mapping: new Map([...labels].map((l) => [l, [l.replace(/[_-]+/g, " ")]])), source: "folder-names" };
}

/**
 * The reference images of a few-shot run: the first `shots` files of each class in sorted
 * order, or, with a seed, `shots` files drawn at random (the same seed draws the same files).
 */
export function chooseShots(train: Split, shots: number, seed?: number): Split {
  const none = noImages(train, "few-shot takes its references from there", "use --zero-shot alone");
  if (none) throw new DatasetError(none);
  const chosen: Split = new Map();
  for (const [label, files] of train) {
    if (seed === undefined) {
      chosen.set(label, files.slice(0, shots));
      continue;
    }
    const random = mulberry32(seed ^ hashString(label));
    const order = files.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    chosen.set(
      label,
      order
        .slice(0, shots)
        .sort((a, b) => a - b)
        .map((i) => files[i]),
    );
  }
  return chosen;
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
