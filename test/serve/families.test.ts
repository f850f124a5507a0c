/**
 * emb serve with the other embedding families behind the same endpoints: a CLIP model answers
 * embed_image and embed_text with PyTorch's get_image_features / get_text_features; an
 * image-only DINOv2 model serves the image endpoints alone and says there is no text model.
 */
import { describe, expect, it } from "vitest";
import { cosine, fixturePath, readJson, readNpy } from "../helpers/fixtures.js";
import { image, startServe } from "../helpers/serve.js";

const floats = (b: Buffer) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

function goldenRow(family: string, array: string, index: number): Float32Array {
  const npy = readNpy("goldens", ...family.split("/"), array);
  const d = npy.shape[1];
  return (npy.data as Float32Array).slice(index * d, (index + 1) * d);
}

async function embedImage(url: string, file: string): Promise<Float32Array> {
  const res = await fetch(`${url}/v2/models/embed_image/infer`, {
    method: "POST",
    headers: { "Content-Type": "application/octet-stream", "Inference-Header-Content-Length": "0" },
    body: image(file),
  });
  expect(res.status).toBe(200);
  const body = Buffer.from(await res.arrayBuffer());
  return floats(body.subarray(Number(res.headers.get("inference-header-content-length"))));
}

describe("emb serve with other embedding families", () => {
  it("serves a CLIP model's image and text towers as PyTorch computes them", async () => {
    const server = await startServe(["--model", `siglip=${fixturePath("clip-tiny")}`]);
    try {
      const golden = readJson("goldens", "clip", "goldens.json");
      const file = "portrait_375x500.jpg";
      const vector = await embedImage(server.url, file);
      const index = golden.images.findIndex((i: { file: string }) => i.file === file);
      expect(cosine(vector, goldenRow("clip", "image_embeds.npy", index))).toBeGreaterThan(0.99999);

      const caption = golden.captions[1].text as string;
      const res = await fetch(`${server.url}/v2/models/embed_text/infer`, {
        method: "POST",
        body: JSON.stringify({ inputs: [{ name: "INPUT_TEXT", shape: [1, 1], datatype: "BYTES", data: [caption] }] }),
      });
      const body = await res.json();
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(cosine(Float32Array.from(body.outputs[0].data), goldenRow("clip", "text_embeds.npy", 1))).toBeGreaterThan(0.99999);
    } finally {
      await server.stop();
    }
  }, 120_000);

  it("serves a SigLIP 2 NaFlex model: each uploaded image keeps its aspect ratio, as PyTorch embeds it", async () => {
    const server = await startServe(["--model", `siglip=${fixturePath("siglip2-naflex-tiny")}`]);
    try {
      const golden = readJson("goldens", "siglip2-naflex-model", "goldens.json");
      for (const file of ["panorama_2400x200.jpg", "portrait_375x500.jpg"]) {
        const vector = await embedImage(server.url, file);
        const index = golden.images.findIndex((i: { file: string }) => i.file === file);
        expect(cosine(vector, goldenRow("siglip2-naflex-model", "image_embeds_256.npy", index)), file).toBeGreaterThan(0.99999);
      }
    } finally {
      await server.stop();
    }
  }, 120_000);

  it("serves an image-only DINOv2 model's image endpoints, and no text model", async () => {
    const server = await startServe(["--model", `siglip=${fixturePath("dinov2-registers-tiny")}`]);
    try {
      const golden = readJson("goldens", "dinov2", "registers", "goldens.json");
      const file = "photo_500x375.jpg";
      const vector = await embedImage(server.url, file);
      const index = golden.images.findIndex((i: { file: string }) => i.file === file);
      expect(cosine(vector, goldenRow("dinov2/registers", "pooler_output.npy", index))).toBeGreaterThan(0.99999);
      const models = (await (await fetch(`${server.url}/v2/repository/index`, { method: "POST" })).json()) as { name: string }[];
      expect(models.map((m) => m.name)).not.toContain("embed_text");
      expect((await fetch(`${server.url}/v2/models/embed_text/ready`)).status).not.toBe(200);
    } finally {
      await server.stop();
    }
  }, 120_000);
});
