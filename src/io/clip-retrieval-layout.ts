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
import { readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { makeFolder } from "./directories.js";
import { writeMetadataParquet, type MetadataColumn } from "./metadata-parquet.js";
import { NpyRowReader } from "./npy.js";
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
