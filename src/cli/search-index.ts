/** --index, shared by emb search and emb dedup, and what building an HNSW graph shows on stderr. */
import { Flags } from "@oclif/core";
import { HNSW_FROM_ROWS, INDEX_KINDS, type IndexEvents, type IndexKind } from "../jobs/search-index.js";
import { progressBar } from "./progress.js";

const cutoff = HNSW_FROM_ROWS.toLocaleString("en-US");

export const indexFlag = (approximate: string, byDefault: IndexKind) =>
  Flags.string({
    description: `exact: score every row; hnsw: an approximate HNSW graph, built once and cached in the folder's search-index/ (rebuilt when its rows change), ${approximate}; auto: exact below ${cutoff} rows, hnsw from there`,
    options: [...INDEX_KINDS],
    default: byDefault,
  });

/** Notices as lines on stderr (never stdout, so --json is untouched); the build's progress as a bar or plain lines. */
export function indexEvents(showProgress: boolean): IndexEvents {
  const bar = progressBar("building HNSW index", "rows", showProgress);
  return {
    onNotice: (line) => process.stderr.write(`${line}\n`),
    onBuildStart: (rows) => bar.start(rows),
    onBuildProgress: () => bar.tick(),
    onBuildEnd: () => bar.stop(),
  };
}

/** emb dedup's progress: rows whose near-duplicates are all found. */
export function dedupProgress(showProgress: boolean): (done: number, total: number) => void {
  const bar = progressBar("finding near-duplicates", "rows", showProgress);
  return (done, total) => {
    if (done === 1) bar.start(total);
    bar.tick();
    if (done === total) bar.stop();
  };
}
