/**
 * Folder-per-class datasets as the Triton deployment laid ImageNet out: `<root>/train/<label>/*` and
 * `<root>/valid/<label>/*`, named by a mapping file of `<label> <comma-separated names>` lines
 * (ImageNet's LOC_synset_mapping.txt).
 */
import { existsSync, statSync } from "node:fs";
import { readInputFile } from "../../sources/text.js";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { walkImages } from "../../sources/image-files.js";
import { compareCodePoints } from "./classifier.js";
import { mulberry32 } from "../random.js";

export class DatasetError extends Error {}

/** Label -> image files, labels and files in sorted order. */
export type Split = Map<string, string[]>;

export interface FolderDataset {
  root: string;
  train?: Split;
  valid: Split;
}

export async function readFolderDataset(root: string, extensions?: string[]): Promise<FolderDataset> {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new DatasetError(`--data ${root}: no such folder`);
  const valid = await readSplit(join(root, "valid"), extensions);
  if (!valid) throw new DatasetError(`${join(root, "valid")}: no such folder; the layout is <root>/train/<label>/* and <root>/valid/<label>/*`);
  const train = await readSplit(join(root, "train"), extensions);
  return { root, train, valid };
}

async function readSplit(dir: string, extensions?: string[]): Promise<Split | undefined> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return undefined;
  const split: Split = new Map();
  const entries = await readdir(dir, { withFileTypes: true });
  const labels = entries.filter((e) => e.isDirectory() || (e.isSymbolicLink() && statSync(join(dir, e.name)).isDirectory())).map((e) => e.name);
  for (const label of labels.sort(compareCodePoints)) {
    const files: string[] = [];
    for await (const file of walkImages([join(dir, label)], { extensions })) {
      if (file.error) throw new DatasetError(`${file.path}: ${file.error}`);
      files.push(file.path);
    }
    split.set(label, files);
  }
  return split;
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
