import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chooseLabelMapping, chooseShots, DatasetError, parseLabelMapping, readFolderDataset } from "../../src/eval/knn/dataset.js";
import { classPrompts, meanOfUnitVectors } from "../../src/eval/knn/prompts.js";
import { ROOT } from "../helpers/cli.js";

const IMAGENET = join(ROOT, "data", "LOC_synset_mapping.txt");

function dataset(layout: Record<string, Record<string, string[]>>): string {
  const root = mkdtempSync(join(tmpdir(), "emb-knn-ds-"));
  for (const [split, classes] of Object.entries(layout)) {
    for (const [label, files] of Object.entries(classes)) {
      mkdirSync(join(root, split, label), { recursive: true });
      for (const f of files) writeFileSync(join(root, split, label, f), "x");
    }
  }
  return root;
}

describe("label mappings", () => {
  it("reads ImageNet's LOC_synset_mapping.txt: 1,000 synsets with their names", () => {
    const { mapping, source } = chooseLabelMapping({ root: "/nowhere", valid: new Map([["n01440764", []]]) }, undefined, IMAGENET);
    expect(source).toBe("imagenet");
    expect(mapping.size).toBe(1000);
    expect(mapping.get("n01440764")).toEqual(["tench", "Tinca tinca"]);
    expect(mapping.get("n01484850")).toEqual(["great white shark", "white shark", "man-eater", "man-eating shark", "Carcharodon carcharias"]);
  });

  it("falls back to folder names when no mapping names every class", () => {
    const { mapping, source } = chooseLabelMapping({ root: "/nowhere", valid: new Map([["golden_retriever", []]]) }, undefined, IMAGENET);
    expect(source).toBe("folder-names");
    expect(mapping.get("golden_retriever")).toEqual(["golden retriever"]);
  });

  it("prefers the dataset's own mapping file", async () => {
    const root = dataset({ valid: { cat: ["a.jpg"] } });
    writeFileSync(join(root, "LOC_synset_mapping.txt"), "cat house cat, Felis catus\n");
    const { mapping, source } = chooseLabelMapping(await readFolderDataset(root), undefined, IMAGENET);
    expect(source).toBe("dataset");
    expect(mapping.get("cat")).toEqual(["house cat", "Felis catus"]);
  });

  it("names the line of a label given twice", () => {
    expect(() => parseLabelMapping("a x\nb y\n\na z\n", "map.txt")).toThrow(new DatasetError("map.txt:4: label a appears twice"));
  });
});

describe("folder datasets and shots", () => {
  it("lists classes and images sorted, skipping files that are not images", async () => {
    const root = dataset({ train: { b: ["2.jpg", "1.png", "notes.txt"], a: ["x.jpg"] }, valid: { a: ["v.jpg"] } });
    const ds = await readFolderDataset(root);
    expect([...ds.train!.keys()]).toEqual(["a", "b"]);
    expect(ds.train!.get("b")!.map((f) => f.slice(root.length))).toEqual(["/train/b/1.png", "/train/b/2.jpg"]);
  });

  it("takes the first N per class, or a seeded draw that repeats", () => {
    const train = new Map([
      ["a", ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]],
      ["b", ["x"]],
    ]);
    expect(chooseShots(train, 3).get("a")).toEqual(["0", "1", "2"]);
    expect(chooseShots(train, 3).get("b")).toEqual(["x"]);
    const drawn = chooseShots(train, 3, 7).get("a")!;
    expect(drawn).toHaveLength(3);
    expect(chooseShots(train, 3, 7).get("a")).toEqual(drawn);
    const draws = new Set([1, 2, 3, 4, 5, 6].map((seed) => chooseShots(train, 3, seed).get("a")!.join()));
    expect(draws.size).toBeGreaterThan(1);
  });
});

describe("folders the dataset cannot be read from", () => {
  it("a class folder whose name is not UTF-8 is listed by its bytes, shown with \\xHH, and does not stop the listing", async () => {
    const root = dataset({ train: { cat: ["a.jpg"] }, valid: { cat: ["b.jpg"] } });
    const folder = Buffer.concat([Buffer.from(join(root, "valid", "caf")), Buffer.from([0xe9])]);
    mkdirSync(folder);
    writeFileSync(Buffer.concat([folder, Buffer.from("/x.jpg")]), "x");
    writeFileSync(Buffer.concat([folder, Buffer.from("/notes.txt")]), "x");
    const ds = await readFolderDataset(root);
    expect([...ds.valid.keys()]).toEqual(["caf\\xe9", "cat"]);
    const shown = join(root, "valid", "caf\\xe9", "x.jpg");
    expect(ds.valid.get("caf\\xe9")).toEqual([shown]);
    expect(ds.bytes?.get(shown)).toEqual(Buffer.concat([folder, Buffer.from("/x.jpg")]));
    // A file name that is not UTF-8 in a class folder that is: its bytes are kept the same way.
    writeFileSync(Buffer.concat([Buffer.from(join(root, "valid", "cat", "caf")), Buffer.from([0xe9]), Buffer.from(".jpg")]), "x");
    const again = await readFolderDataset(root);
    expect(again.bytes?.get(join(root, "valid", "cat", "caf\\xe9.jpg"))).toEqual(
      Buffer.concat([Buffer.from(join(root, "valid", "cat", "caf")), Buffer.from([0xe9]), Buffer.from(".jpg")]),
    );
  });

  it("a valid split without an image, or for few-shot a train split without one, names the folder, the extensions and the fixes", async () => {
    const root = dataset({ train: { cat: ["notes.txt"] }, valid: { cat: ["notes.txt"], dog: [] } });
    await expect(readFolderDataset(root, ["jpg", "png"])).rejects.toThrow(
      new DatasetError(
        `${join(root, "valid")} has no images with the extensions jpg, png in its 2 class folder(s), and the evaluation classifies those; ` +
          `put the images in ${join(root, "valid")}/<label>/ or give --ext the extensions they have`,
      ),
    );
    writeFileSync(join(root, "valid", "dog", "a.jpg"), "x");
    const ds = await readFolderDataset(root, ["jpg", "png"]);
    expect(() => chooseShots(ds.train!, 5)).toThrow(
      new DatasetError(
        `${join(root, "train")} has no images with the extensions jpg, png in its 1 class folder(s), and few-shot takes its references from there; ` +
          `put the images in ${join(root, "train")}/<label>/, give --ext the extensions they have, or use --zero-shot alone`,
      ),
    );
  });
});

describe("zero-shot prompts", () => {
  const names = ["great white shark", "white shark"];
  it("fills {text} with all names, the first, or each", () => {
    expect(classPrompts("n01484850", names, ["A photo of {text}."], "all")).toEqual(["A photo of great white shark, white shark."]);
    expect(classPrompts("n01484850", names, ["A photo of {text}."], "first")).toEqual(["A photo of great white shark."]);
    expect(classPrompts("n01484850", names, ["{label}: {text}", "a {text}"], "each")).toEqual([
      "n01484850: great white shark",
      "n01484850: white shark",
      "a great white shark",
      "a white shark",
    ]);
  });

  it("averages prompt embeddings as unit vectors", () => {
    // [3, 0] and [3, 4] are [1, 0] and [0.6, 0.8] at unit length; a plain mean would be [3, 2].
    const [x, y] = meanOfUnitVectors([Float32Array.from([3, 0]), Float32Array.from([3, 4])]);
    expect(x).toBeCloseTo(0.8, 6);
    expect(y).toBeCloseTo(0.4, 6);
  });
});
