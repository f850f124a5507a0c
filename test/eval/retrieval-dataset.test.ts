/**
 * The caption annotation formats people evaluate retrieval with, read from files shaped like the
 * real ones (test/fixtures/retrieval/README.md says which): the images and captions expected
 * here were read off the fixture files by hand, and CLIP_benchmark's own loaders were checked on
 * the same files by tools/reference/retrieval_goldens.py (COCO in image id order, Flickr30k's
 * text file in order of first appearance).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readCaptionDataset, RetrievalDatasetError } from "../../src/eval/retrieval/dataset.js";
import { fixturePath } from "../helpers/fixtures.js";

const file = (name: string) => fixturePath(join("retrieval", name));
const counts = (d: ReturnType<typeof readCaptionDataset>) => d.images.map((_, i) => d.captions.filter((c) => c.image === i).length);

describe("retrieval annotation files", () => {
  it("Karpathy's dataset_coco.json: the test split only, <root>/<filepath>/<filename>, every sentence's raw text", () => {
    const d = readCaptionDataset(file("dataset_coco.json"), "root");
    expect(d.format).toBe("karpathy");
    expect(d.images).toEqual(["photo_500x375.jpg", "portrait_375x500.jpg", "small_64x48.jpg", "large_1280x720.jpg"].map((f) => join("root", "val2014", f)));
    expect(counts(d)).toEqual([5, 6, 7, 5]);
    expect(d.captions[0]).toEqual({ text: "A landscape photo with a wide view across the scene.", image: 0 });
    expect(readCaptionDataset(file("dataset_coco.json"), "root", "restval").images).toEqual([join("root", "val2014", "panorama_2400x200.jpg")]);
  });

  it("Karpathy's dataset_flickr30k.json: no filepath, images at <root>/<filename>", () => {
    const d = readCaptionDataset(file("dataset_flickr30k.json"), "f");
    expect(d.images).toEqual(["photo_500x375.jpg", "portrait_375x500.jpg", "small_64x48.jpg", "cmyk_320x240.jpg"].map((x) => join("f", x)));
    expect(counts(d)).toEqual([5, 5, 5, 5]);
  });

  it("CLIP_benchmark's coco_test_karpathy.json (COCO captions format): images in id order, as torchvision reads them", () => {
    const d = readCaptionDataset(file("clip_benchmark_coco.json"), "c");
    expect(d.format).toBe("coco");
    // ids 37777, 184613, 391895, 554625
    expect(d.images).toEqual(["large_1280x720.jpg", "portrait_375x500.jpg", "photo_500x375.jpg", "small_64x48.jpg"].map((x) => join("c", x)));
    expect(d.captions).toHaveLength(23);
    expect(d.captions.find((c) => c.image === 2)?.text).toBe("A landscape photo with a wide view across the scene.");
  });

  it("CLIP_benchmark's flickr30k_test_karpathy.txt: header skipped, split at '.jpg,' so a caption keeps its commas", () => {
    const d = readCaptionDataset(file("clip_benchmark_flickr30k.txt"), "f");
    expect(d.format).toBe("flickr-txt");
    expect(d.images[0]).toBe(join("f", "photo_500x375.jpg"));
    expect(d.captions[2]).toEqual({ text: "A landscape, wide and bright, with soft colours.", image: 0 });
    expect(counts(d).reduce((a, b) => a + b)).toBe(d.captions.length);
  });

  it("names what is wrong with a file it cannot use", () => {
    expect(() => readCaptionDataset(file("dataset_coco.json"), "r", "tset")).toThrow(
      'no image in split "tset"; its splits are restval, test, train, val (--split)',
    );
    expect(() => readCaptionDataset(file("README.md"), "r")).toThrow(RetrievalDatasetError);
    expect(() => readCaptionDataset(file("README.md"), "r")).toThrow("not an annotation file emb knows");
    expect(() => readCaptionDataset(file("missing.json"), "r")).toThrow("missing.json: cannot read it");
  });
});
