/**
 * Helper of bench/search-dedup.sh.
 *
 *   make DIR ROWS [SEED] [CLUSTERS]
 *                                 a synthetic emb embed image folder: ROWS random unit vectors of
 *                                 1,152 dimensions (embeddings.npy, index.jsonl, run.json written
 *                                 by emb's own writers), 1% of them planted near-copies (cosine
 *                                 0.97 to 0.999) of another row; DIR.planted.json lists the pairs.
 *                                 With CLUSTERS, rows lie around that many random centres (cosine
 *                                 about 0.7 to their centre, 0.5 to each other), as embeddings of
 *                                 real images group by what they show, instead of uniformly
 *   queries ROWS COUNT [SEED]     COUNT distinct rows to query with, one per line
 *   recall EXACT.json HNSW.json   recall@k of emb search --json results against exact ones
 *   groups A.json [B.json]        emb dedup --json groups; with B, whether they are the same
 *   planted DIR DEDUP.json        planted pairs found in one dedup group
 */
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { mulberry32 } from "../src/eval/random.js";
import { JsonlAppender } from "../src/io/jsonl.js";
import { appendRows, NpyAppendWriter } from "../src/io/npy-writer.js";

const DIM = 1152;
const [command, ...args] = process.argv.slice(2);

function make(dir: string, rows: number, seed: number, clusters: number): void {
  mkdirSync(dir, { recursive: true });
  const random = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const unit = (v: Float32Array) => {
    const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
    for (let i = 0; i < v.length; i++) v[i] /= norm;
    return v;
  };
  const npy = NpyAppendWriter.open(join(dir, "embeddings.npy"), DIM);
  const index = new JsonlAppender(join(dir, "index.jsonl"));
  const planted: { row: number; of: number; cosine: number }[] = [];
  // Rows are made in blocks (a copy needs its original, so it points back into the block).
  const BLOCK = 4096;
  const centres = Array.from({ length: clusters }, () => unit(Float32Array.from({ length: DIM }, normal)));
  // A centre plus noise of the same length: cosine about 1 / sqrt(2) to the centre.
  const draw = () => {
    const g = unit(Float32Array.from({ length: DIM }, normal));
    if (clusters === 0) return g;
    const c = centres[Math.floor(random() * clusters)];
    return unit(c.map((x, i) => x + g[i]));
  };
  for (let first = 0; first < rows; first += BLOCK) {
    const count = Math.min(BLOCK, rows - first);
    const block = Array.from({ length: count }, draw);
    for (let j = 1; j < count; j++) {
      if (random() >= 0.01) continue;
      // a copy of a copy is a chain: one group all the same
      const of = Math.floor(random() * j);
      // v + eps g with g of the same length: cosine about 1 / sqrt(1 + eps^2)
      const eps = 0.05 + 0.2 * random();
      const noise = unit(Float32Array.from({ length: DIM }, normal));
      block[j] = unit(block[of].map((x, i) => x + eps * noise[i]));
      planted.push({ row: first + j, of: first + of, cosine: block[j].reduce((a, x, i) => a + x * block[of][i], 0) });
    }
    appendRows(npy, count, (i) => block[i]);
    index.append(
      block.map((v, i) => {
        const row = first + i;
        const sha256 = Buffer.from(v.buffer, v.byteOffset, 32).toString("hex");
        return { row, path: `/synthetic/${String(row).padStart(8, "0")}.jpg`, bytes: 100_000 + (row % 997), mtimeMs: 1.7e12, sha256, width: 500, height: 375 };
      }),
    );
  }
  npy.close();
  index.close();
  const fingerprint = { model: "synthetic", commit: null, weights: "synthetic", preprocessing: {}, normalize: false };
  writeFileSync(join(dir, "run.json"), `${JSON.stringify({ command: "bench synthetic", fingerprint, status: "complete" }, null, 2)}\n`);
  writeFileSync(`${dir}.planted.json`, JSON.stringify(planted));
  console.log(JSON.stringify({ rows, dim: DIM, clusters, planted: planted.length }));
}

interface SearchJson {
  results: { query: { row: number }; results: { row: number }[] }[];
}

interface DedupJson {
  groups: { members: { row: number }[] }[];
  rows: number;
}

const read = <T,>(path: string): T => JSON.parse(readFileSync(path, "utf8")) as T;
const groupKeys = (d: DedupJson) => d.groups.map((g) => g.members.map((m) => m.row).sort((a, b) => a - b).join(",")).sort();

switch (command) {
  case "make":
    make(args[0], Number(args[1]), Number(args[2] ?? 1), Number(args[3] ?? 0));
    break;
  case "queries": {
    const random = mulberry32(Number(args[2] ?? 7));
    const rows = new Set<number>();
    while (rows.size < Math.min(Number(args[1]), Number(args[0]))) rows.add(Math.floor(random() * Number(args[0])));
    console.log([...rows].join("\n"));
    break;
  }
  case "recall": {
    const [exact, hnsw] = [read<SearchJson>(args[0]), read<SearchJson>(args[1])];
    let found = 0;
    let total = 0;
    let others = 0;
    let othersTotal = 0;
    exact.results.forEach((e, q) => {
      const got = new Set(hnsw.results[q].results.map((h) => h.row));
      for (const hit of e.results) {
        total++;
        if (got.has(hit.row)) found++;
        // without the query's own row, which any graph search finds
        if (hit.row === e.query.row) continue;
        othersTotal++;
        if (got.has(hit.row)) others++;
      }
    });
    console.log(JSON.stringify({ queries: exact.results.length, recall: found / total, recallWithoutSelf: others / othersTotal }));
    break;
  }
  case "groups": {
    const a = read<DedupJson>(args[0]);
    const out: Record<string, unknown> = { groups: a.groups.length, inGroups: a.groups.reduce((s, g) => s + g.members.length, 0) };
    if (args[1]) {
      const [ka, kb] = [groupKeys(a), new Set(groupKeys(read<DedupJson>(args[1])))];
      out.sameGroups = ka.filter((k) => kb.has(k)).length;
      out.equal = ka.length === kb.size && out.sameGroups === ka.length;
    }
    console.log(JSON.stringify(out));
    break;
  }
  case "planted": {
    const planted = read<{ row: number; of: number }[]>(`${args[0]}.planted.json`);
    const groupOf = new Map<number, number>();
    read<DedupJson>(args[1]).groups.forEach((g, i) => g.members.forEach((m) => groupOf.set(m.row, i)));
    const found = planted.filter((p) => groupOf.has(p.row) && groupOf.get(p.row) === groupOf.get(p.of)).length;
    console.log(JSON.stringify({ planted: planted.length, found }));
    break;
  }
  default:
    throw new Error(`unknown command ${command}: make, queries, recall, groups or planted`);
}
