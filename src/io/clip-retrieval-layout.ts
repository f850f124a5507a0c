/**
 * The layout clip-retrieval's inference writes and its index step (autofaiss) reads, written
 * from a finished embedding folder: `img_emb/img_emb_<i>.npy` (or `text_emb/text_emb_<i>.npy`)
 * and `metadata/metadata_<i>.parquet`, parts of at most `partRows` rows, numbered with as many
 * digits as the part count needs (as clip-retrieval pads them), the metadata's first column
 * `image_path` (or `caption`) followed by emb's other index fields.
 *
 * Rows are L2-normalised and stored as float16 (`<f2`), as clip-retrieval's own writer stores
 * them, whatever --normalize made embeddings.npy: its index step (autofaiss) and its search back
 * end rank by inner product, which only unit rows make a cosine, and they read the parts as
 * written. SigLIP's raw rows have norms far from 1 and would rank by length.
 *
 * It is a view of embeddings.npy and index.jsonl, which stay the resume manifest: it is
 * rewritten whole at the end of every run, so it is current when run.json says the run ended.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { parquetReadObjects } from "hyparquet";
import { join } from "node:path";
import { makeFolder } from "./directories.js";
import { writeMetadataParquet, type MetadataColumn } from "./metadata-parquet.js";
import { NpyRowReader, parseNpy } from "./npy.js";
import { writeFloat16Npy } from "./npy-writer.js";
import { l2normalize } from "../runtime/vectors.js";

export const LAYOUTS = ["emb", "clip-retrieval"] as const;
export type Layout = (typeof LAYOUTS)[number];

/** clip-retrieval's default part size (its write_batch_size). */
export const DEFAULT_PART_ROWS = 1_000_000;

export interface ClipRetrievalLayout {
  /** Image embeddings (img_emb/, image_path) or caption embeddings (text_emb/, caption). */
  kind: "image" | "text";
  partRows: number;
}

/** The index fields renamed as clip-retrieval names them. */
const RENAMED: Record<ClipRetrievalLayout["kind"], { field: string; column: string; folder: string }> = {
  image: { field: "path", column: "image_path", folder: "img_emb" },
  text: { field: "text", column: "caption", folder: "text_emb" },
};

/** Writes the layout into `dir` from its embeddings.npy and the final `records` (in row order). */
export function writeClipRetrievalLayout(dir: string, records: object[], columns: MetadataColumn[], layout: ClipRetrievalLayout): void {
  const { field, column, folder } = RENAMED[layout.kind];
  const ordered = [...columns.filter((c) => c.name === field).map((c) => ({ ...c, column })), ...columns.filter((c) => c.name !== field)];
  const parts = Math.max(1, Math.ceil(records.length / layout.partRows));
  const digits = Math.floor(Math.log10(parts)) + 1;
  const vectors = NpyRowReader.open(join(dir, "embeddings.npy"));
  makeFolder(join(dir, folder));
  makeFolder(join(dir, "metadata"));
  const written = new Set<string>();
  try {
    for (let part = 0; part < parts; part++) {
      const name = String(part).padStart(digits, "0");
      const first = part * layout.partRows;
      const count = Math.min(layout.partRows, records.length - first);
      const npy = join(dir, folder, `${folder}_${name}.npy`);
      writeFloat16Npy(`${npy}.tmp`, count, vectors.dim, (i) => l2normalize(vectors.row(first + i)));
      renameSync(`${npy}.tmp`, npy);
      writeMetadataParquet(join(dir, "metadata", `metadata_${name}.parquet`), records.slice(first, first + count), ordered);
      written.add(`${folder}/${folder}_${name}.npy`).add(`metadata/metadata_${name}.parquet`);
    }
  } finally {
    vectors.close();
  }
  // Parts of an earlier, longer or differently split run would be read as more rows.
  for (const sub of [folder, "metadata"]) {
    for (const file of readdirSync(join(dir, sub))) if (!written.has(`${sub}/${file}`)) rmSync(join(dir, sub, file), { force: true });
  }
}

/** A folder in the layout, read back: its rows' metadata (image_path as path) and vectors, parts in order. */
export interface ClipRetrievalFolder {
  dim: number;
  /** One per row: the metadata columns, image_path renamed path. */
  records: (Record<string, unknown> & { row: number; path: string })[];
  vector(row: number): Float32Array;
}

/** Whether `dir` holds an image layout without emb's own files (as clip-retrieval's inference writes it). */
export function isClipRetrievalImageFolder(dir: string): boolean {
  return !existsSync(join(dir, "embeddings.npy")) && existsSync(join(dir, "img_emb")) && existsSync(join(dir, "metadata"));
}

/**
 * Reads img_emb/img_emb_<i>.npy (float16 or float32) and metadata/metadata_<i>.parquet, part by
 * part in number order, rows numbered across the parts; each part's metadata must have as many
 * rows as its embeddings.
 */
export async function readClipRetrievalImageFolder(dir: string): Promise<ClipRetrievalFolder> {
  const partNumber = (file: string) => Number(/_(\d+)\.[a-z]+$/.exec(file)?.[1]);
  const parts = (sub: string, ext: string) =>
    readdirSync(join(dir, sub))
      .filter((f) => f.endsWith(ext) && Number.isInteger(partNumber(f)))
      .sort((a, b) => partNumber(a) - partNumber(b));
  const npys = parts("img_emb", ".npy");
  const parquets = parts("metadata", ".parquet");
  if (npys.length === 0) throw new Error(`${dir}/img_emb has no img_emb_<n>.npy parts`);
  if (npys.map(partNumber).join() !== parquets.map(partNumber).join()) {
    throw new Error(`${dir}: the parts of img_emb/ (${npys.join(", ")}) and metadata/ (${parquets.join(", ") || "none"}) do not pair up`);
  }
  const records: ClipRetrievalFolder["records"] = [];
  const blocks: { first: number; data: Float32Array }[] = [];
  let dim = 0;
  for (const [i, npy] of npys.entries()) {
    const array = parseNpy(readFileSync(join(dir, "img_emb", npy)));
    if (array.shape.length !== 2 || (array.dtype !== "float16" && array.dtype !== "float32"))
      throw new Error(`${dir}/img_emb/${npy} is not a float16 or float32 matrix`);
    const [rows, width] = array.shape;
    if (dim && width !== dim) throw new Error(`${dir}/img_emb/${npy} has ${width} dimensions, the parts before it ${dim}`);
    dim = width;
    const bytes = readFileSync(join(dir, "metadata", parquets[i]));
    const rowsMeta = (await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) })) as Record<
      string,
      unknown
    >[];
    if (rowsMeta.length !== rows) throw new Error(`${dir}/metadata/${parquets[i]} has ${rowsMeta.length} rows, img_emb/${npy} ${rows}`);
    const first = records.length;
    blocks.push({ first, data: array.data as Float32Array });
    rowsMeta.forEach((meta, j) => {
      const { image_path, ...rest } = meta;
      if (typeof image_path !== "string") throw new Error(`${dir}/metadata/${parquets[i]} has no image_path column (row ${j})`);
      // numbers stored as INT64 come back as bigint
      const fields = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v]));
      records.push({ ...fields, row: first + j, path: image_path });
    });
  }
  const vector = (row: number) => {
    let b = blocks.length - 1;
    while (blocks[b].first > row) b--;
    const at = row - blocks[b].first;
    return blocks[b].data.slice(at * dim, (at + 1) * dim);
  };
  return { dim, records, vector };
}
