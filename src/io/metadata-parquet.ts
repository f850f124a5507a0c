/**
 * `metadata.parquet`: the index records of an embedding folder as a Parquet table, one row per
 * embedding row in row order, so pandas, pyarrow, DuckDB or Spark read the metadata beside
 * `embeddings.npy` without parsing JSON Lines. index.jsonl stays the resume manifest; this file
 * is rewritten whole (through a temporary file and a rename) when a run or a merge ends.
 */
import { ByteWriter, parquetWrite } from "hyparquet-writer";
import { writeFileAtomic } from "./jsonl.js";

/** A column of the table: a record field and its Parquet type. */
export interface MetadataColumn {
  name: string;
  type: "INT32" | "INT64" | "DOUBLE" | "STRING" | "BOOLEAN";
  /** The column's name in the file, when it is not the field's. */
  column?: string;
}

export const METADATA_FILE = "metadata.parquet";

/**
 * Writes `records` as a Parquet file with exactly `columns`; a field a record lacks is null. The
 * schema is fixed per kind of record (not guessed from the values), so every shard's file has
 * the same types and they concatenate.
 */
export function writeMetadataParquet(path: string, records: object[], columns: MetadataColumn[]): void {
  const writer = new ByteWriter();
  parquetWrite({
    writer,
    columnData: columns.map(({ name, type, column }) => ({
      name: column ?? name,
      type,
      data: records.map((r) => {
        const value = (r as Record<string, unknown>)[name];
        if (value === undefined || value === null) return null;
        return type === "INT64" ? BigInt(value as number) : value;
      }),
    })),
    createdBy: "emb",
  });
  writeFileAtomic(path, new Uint8Array(writer.getBuffer()));
}
