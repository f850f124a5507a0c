/**
 * The layer order of src/ and commands/, and the check that imports only run downwards: a module
 * may import from its own room or from a room in a lower layer, never from its layer or above,
 * and no chain of imports between files may come back to where it started.
 *
 *   npx tsx tools/architecture/layers.ts      (prints each violation; exit 1 when there is one)
 *
 * docs/architecture.md draws these layers; test/architecture/layers.test.ts runs this check.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** Rooms from the bottom layer up. A room is a folder under src/ (eval/ counts per subfolder), a top-level file of src/, or commands/. */
export const LAYERS: readonly (readonly string[])[] = [
  ["package-root", "worker-thread"],
  ["version", "runtime", "batching", "generation", "eval"],
  ["image", "sources"],
  ["io", "pages"],
  ["models"],
  ["pipeline"],
  ["eval/coco", "eval/knn", "eval/retrieval"],
  ["jobs"],
  ["serve"],
  ["perf"],
  ["api", "cli"],
  ["index", "commands"],
];

/** The room of a file path relative to the repository root (forward slashes). */
export function roomOf(file: string): string {
  const parts = file.split("/");
  if (parts[0] === "commands") return "commands";
  if (parts[1] === "eval" && parts.length > 3) return `eval/${parts[2]}`;
  return parts.length === 2 ? parts[1].replace(/\.ts$/, "") : parts[1];
}

/** The layer index of a room; an unknown room is an error, so a new folder must be placed. */
export function layerOf(room: string): number {
  const at = LAYERS.findIndex((layer) => layer.includes(room));
  if (at < 0) throw new Error(`room ${room} has no layer: add it to LAYERS in tools/architecture/layers.ts and to docs/architecture.md`);
  return at;
}

/** file -> the project files it imports (relative specifiers only), paths relative to the root. */
export type ImportGraph = Map<string, string[]>;

// import ... from "./x.js", export ... from "./x.js", import "./x.js", and import("./x.js") anywhere
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*"(\.{1,2}\/[^"]+)"|(?:^|\n)\s*import\s*"(\.{1,2}\/[^"]+)"|\bimport\(\s*"(\.{1,2}\/[^"]+)"/g;

/** The import graph of every .ts file under `dirs` (the WebAssembly kernel's AssemblyScript excluded). */
export function importGraph(root: string, dirs: readonly string[] = ["src", "commands"]): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const dir of dirs) {
    for (const entry of readdirSync(join(root, dir), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith(".ts") || entry.name.endsWith(".d.ts")) continue;
      const file = relative(root, join(entry.parentPath, entry.name)).split(sep).join("/");
      if (file.includes("/wasm/")) continue;
      const targets: string[] = [];
      for (const m of readFileSync(join(root, file), "utf8").matchAll(IMPORT)) {
        const spec = m[1] ?? m[2] ?? m[3];
        targets.push(
          normalize(join(dirname(file), spec))
            .split(sep)
            .join("/")
            .replace(/\.js$/, ".ts"),
        );
      }
      graph.set(file, targets);
    }
  }
  return graph;
}

export interface Violation {
  from: string;
  to: string;
  why: string;
}

/** Imports that run sideways or up the layers. */
export function upwardImports(graph: ImportGraph): Violation[] {
  const found: Violation[] = [];
  for (const [from, targets] of graph) {
    const room = roomOf(from);
    for (const to of targets) {
      const target = roomOf(to);
      if (target === room) continue;
      const [a, b] = [layerOf(room), layerOf(target)];
      if (b >= a) found.push({ from, to, why: `${room} (layer ${a}) imports ${target} (layer ${b}), ${b === a ? "in its own layer" : "above it"}` });
    }
  }
  return found;
}

/** Cycles between files, one per strongly connected group (Tarjan), each as its files. */
export function importCycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(group.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const graph = importGraph(root);
  const upward = upwardImports(graph);
  const cycles = importCycles(graph);
  for (const v of upward) console.error(`${v.from} -> ${v.to}: ${v.why}`);
  for (const c of cycles) console.error(`import cycle: ${c.join(", ")}`);
  console.log(`${graph.size} files: ${upward.length} imports against the layers, ${cycles.length} cycles`);
  process.exit(upward.length + cycles.length > 0 ? 1 : 0);
}
