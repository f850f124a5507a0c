/** Imports run only down the layers of docs/architecture.md, with no cycles (tools/architecture/layers.ts). */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { importCycles, importGraph, LAYERS, layerOf, roomOf, upwardImports, type ImportGraph } from "../../tools/architecture/layers.js";
import { FIXTURES } from "../helpers/fixtures.js";

const ROOT = join(FIXTURES, "..", "..");

describe("the layers", () => {
  const graph = importGraph(ROOT);

  it("every file of src/ and commands/ is in a room with a layer", () => {
    expect(graph.size).toBeGreaterThan(100);
    for (const file of graph.keys()) expect(() => layerOf(roomOf(file)), file).not.toThrow();
  });

  it("no import runs sideways or up, and no import chain comes back to its start", () => {
    expect(upwardImports(graph)).toEqual([]);
    expect(importCycles(graph)).toEqual([]);
  });

  it("a planted upward import and a planted cycle are found", () => {
    const planted: ImportGraph = new Map(graph);
    planted.set("src/image/decode.ts", [...(graph.get("src/image/decode.ts") ?? []), "src/models/registry.ts"]);
    expect(upwardImports(planted)).toEqual([
      {
        from: "src/image/decode.ts",
        to: "src/models/registry.ts",
        why: `image (layer ${layerOf("image")}) imports models (layer ${layerOf("models")}), above it`,
      },
    ]);
    planted.set("src/image/bmp.ts", ["src/image/decode.ts"]);
    expect(importCycles(planted)).toEqual([["src/image/bmp.ts", "src/image/decode.ts"]]);
  });

  it("reads the import forms the code uses", () => {
    expect(graph.get("src/image/resample.ts")).toContain("src/image/pixel-kernel.ts");
    expect(roomOf("src/eval/coco/meteor/align.ts")).toBe("eval/coco");
    expect(roomOf("src/index.ts")).toBe("index");
    expect(LAYERS[0]).toEqual(["package-root", "worker-thread"]);
  });
});
