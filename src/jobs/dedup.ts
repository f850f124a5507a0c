/**
 * `emb dedup`: duplicate groups in an `emb embed image` folder. Files with the same content
 * (index.jsonl's sha256) are exact duplicates; rows whose cosine similarity reaches the threshold
 * are near-duplicates, grouped as the connected components of that neighbour graph (so a chain
 * of near copies is one group). Each group gets a suggestion: keep one file (by default the one
 * with the most pixels, then the most bytes, then the first path), drop the rest.
 *
 * The pairs are found exactly by default (similarPairs: k-means lists prune the pairs that cannot
 * be near, the rest are scored), or through an HNSW graph (cached as emb search caches it), which
 * may miss a pair: a group then splits, or loses a member.
 */
import type { IndexRecord } from "../io/embedding-store.js";
import { openEmbeddingFolders } from "./embedding-cache.js";
import { similarPairs } from "../eval/knn/similar-pairs.js";
import { chooseIndex, hnswAvailable, type IndexEvents, type IndexKind, openNeighbourIndex } from "./search-index.js";

export const KEEP_RULES = ["largest", "smallest", "first"] as const;
export type KeepRule = (typeof KEEP_RULES)[number];

export interface DedupMember {
  row: number;
  path: string;
  sha256: string;
  bytes: number;
  width?: number;
  height?: number;
  /** Cosine similarity to the kept file. */
  score: number;
}

export interface DedupGroup {
  group: number;
  /** "exact": every member has the same content; "near": some only look alike. */
  kind: "exact" | "near";
  keep: string;
  drop: string[];
  members: DedupMember[];
}

export interface DedupOutcome {
  folder: string;
  rows: number;
  threshold: number;
  keep: KeepRule;
  /** How the pairs were found: exactly, or approximately through the HNSW graph. */
  index: "exact" | "hnsw";
  groups: DedupGroup[];
  /** Files in some group, and files suggested for dropping. */
  duplicates: number;
  toDrop: number;
}

export class DedupOptionError extends Error {}

/** Queries per search call: bounds the query rows and neighbour lists held at once, whatever the folder's size. */
const QUERY_CHUNK = 8192;

/** Union-find over row positions. */
class Components {
  private readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
  }
  find(i: number): number {
    while (this.parent[i] !== i) {
      this.parent[i] = this.parent[this.parent[i]];
      i = this.parent[i];
    }
    return i;
  }
  union(a: number, b: number): void {
    const [ra, rb] = [this.find(a), this.find(b)];
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

/**
 * The pairs through the HNSW graph: each row's neighbours at or above the threshold, asking for
 * more where the k-th still is. HNSW's candidate list as search's (128): 32 took half the time,
 * but on 100k random rows of 1,152 grouped 837 of 992 planted near-copies against 985
 * (bench/RESULTS.md).
 */
async function hnswPairs(
  folders: string[],
  n: number,
  vector: (i: number) => Float32Array,
  dim: number,
  threshold: number,
  components: Components,
  options: { indexEvents?: IndexEvents; onProgress?: (done: number, total: number) => void },
): Promise<void> {
  const { index } = openNeighbourIndex(folders, { count: n, row: vector }, dim, "hnsw", options.indexEvents);
  let pending = Array.from({ length: n }, (_, i) => i);
  let k = Math.min(n, 16);
  let done = 0;
  while (pending.length > 0) {
    const again: number[] = [];
    for (let c = 0; c < pending.length; c += QUERY_CHUNK) {
      const chunk = pending.slice(c, c + QUERY_CHUNK);
      const found = await index.searchAll(chunk.map(vector), k);
      chunk.forEach((i, q) => {
        const { indices, distances } = found[q];
        for (let j = 0; j < indices.length; j++) if (1 - distances[j] >= threshold) components.union(i, indices[j]);
        if (indices.length === k && k < n && 1 - distances[k - 1] >= threshold) again.push(i);
        else options.onProgress?.(++done, n);
      });
    }
    pending = again;
    k = Math.min(n, k * 4);
  }
}

/** Orders a group's records so the one to keep comes first. */
function keepOrder(rule: KeepRule): (a: IndexRecord, b: IndexRecord) => number {
  const pixels = (r: IndexRecord) => (r.width ?? 0) * (r.height ?? 0);
  const byPath = (a: IndexRecord, b: IndexRecord) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  if (rule === "first") return byPath;
  const sign = rule === "largest" ? -1 : 1;
  return (a, b) => sign * (pixels(a) - pixels(b)) || sign * (a.bytes - b.bytes) || byPath(a, b);
}

export async function runDedup(
  folders: string[],
  options: {
    threshold: number;
    keep: KeepRule;
    /** Exact (the default), HNSW, or by the folder's size. */
    index?: IndexKind;
    indexEvents?: IndexEvents;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<DedupOutcome> {
  const { threshold, keep } = options;
  if (!(threshold > 0 && threshold <= 1)) throw new DedupOptionError(`--threshold ${threshold}: give a cosine similarity above 0 and at most 1 (e.g. 0.95)`);
  // Rows are read as needed (a chunk of queries, a shortlist, a group), never all copied at once.
  const folder = await openEmbeddingFolders(folders, { onDemand: true });
  try {
    const records = folder.records as IndexRecord[];
    const n = records.length;
    const vector = (i: number) => folder.vector(records[i].row);
    const components = new Components(n);
    // exact duplicates: same content (a clip-retrieval layout records none: "" is unknown)
    const firstWithSha = new Map<string, number>();
    records.forEach((r, i) => {
      if (!r.sha256) return;
      const first = firstWithSha.get(r.sha256);
      if (first === undefined) firstWithSha.set(r.sha256, i);
      else components.union(first, i);
    });
    // near duplicates: every pair at or above the threshold
    const kind = chooseIndex(options.index ?? "exact", n) === "exact" || !hnswAvailable(options.indexEvents) ? "exact" : "hnsw";
    if (kind === "exact")
      await similarPairs({ count: n, row: vector }, folder.dim, threshold, (a, b) => components.union(a, b), { onProgress: options.onProgress });
    else await hnswPairs(folders, n, vector, folder.dim, threshold, components, options);
    const byRoot = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const root = components.find(i);
      const members = byRoot.get(root);
      if (members) members.push(i);
      else byRoot.set(root, [i]);
    }
    const order = keepOrder(keep);
    const groups: DedupGroup[] = [];
    for (const members of byRoot.values()) {
      if (members.length < 2) continue;
      const sorted = members.map((i) => ({ i, r: records[i] })).sort((a, b) => order(a.r, b.r));
      const kept = vector(sorted[0].i);
      const unit = (v: Float32Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0)) || 1;
      const cos = (v: Float32Array) => v.reduce((a, x, d) => a + x * kept[d], 0) / (unit(v) * unit(kept));
      groups.push({
        group: 0,
        kind: sorted[0].r.sha256 && sorted.every(({ r }) => r.sha256 === sorted[0].r.sha256) ? "exact" : "near",
        keep: sorted[0].r.path,
        drop: sorted.slice(1).map(({ r }) => r.path),
        members: sorted.map(({ i, r }) => ({
          row: r.row,
          path: r.path,
          sha256: r.sha256,
          bytes: r.bytes,
          ...(r.width !== undefined ? { width: r.width, height: r.height } : {}),
          score: cos(vector(i)),
        })),
      });
    }
    // largest groups first, then by the kept file's path: one stable order
    groups.sort((a, b) => b.members.length - a.members.length || (a.keep < b.keep ? -1 : 1));
    groups.forEach((g, i) => (g.group = i + 1));
    const toDrop = groups.reduce((a, g) => a + g.drop.length, 0);
    return { folder: folder.dir, rows: n, threshold, keep, index: kind, groups, duplicates: toDrop + groups.length, toDrop };
  } finally {
    folder.close?.();
  }
}

/** The report's files: one group per line (groups.jsonl) and the paths to drop, one per line, as --files-from reads them. */
export function dedupFiles(outcome: DedupOutcome): { "groups.jsonl": string; "drop.txt": string } {
  return {
    "groups.jsonl": outcome.groups.map((g) => `${JSON.stringify(g)}\n`).join(""),
    "drop.txt": outcome.groups.flatMap((g) => g.drop.map((p) => `${p}\n`)).join(""),
  };
}
