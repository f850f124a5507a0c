/**
 * Worker thread of the image preparation stage: reads a file (or takes bytes), hashes it, decodes and resizes
 * it and normalises the pixels, so that this CPU work runs on every core, not the main thread.
 */
import { createHash } from "node:crypto";
import { parentPort } from "node:worker_threads";
import { decodeAndResize, ImageDecodeError } from "./decode.js";
import { modelPixels } from "./normalize.js";
import { PngChunkError } from "./png-chunks.js";
import { ImageReadError, readImageFile } from "./read-image-file.js";
import type { PrepareReply, PrepareRequest } from "./prepare-pool.js";

async function prepare(request: PrepareRequest): Promise<{ reply: PrepareReply; transfer: ArrayBuffer[] }> {
  const times = { read: 0, decode: 0, normalize: 0 };
  let t = performance.now();
  const lap = (stage: keyof typeof times) => {
    const now = performance.now();
    times[stage] += now - t;
    t = now;
  };
  try {
    // A byte path arrives as a Uint8Array: the file system wants it as a Buffer.
    const bytes = request.data
      ? Buffer.from(request.data.buffer, request.data.byteOffset, request.data.byteLength)
      : await readImageFile(typeof request.path === "string" ? request.path : Buffer.from(request.path), request.decode.maxFileSize);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    lap("read");
    const decoded = await decodeAndResize(bytes, request.preprocessing, request.decode);
    lap("decode");
    const pixels = modelPixels(decoded, request.preprocessing);
    lap("normalize");
    return {
      reply: { id: request.id, ok: true, sha256, bytes: bytes.length, width: decoded.sourceWidth, height: decoded.sourceHeight, pixels, times },
      transfer: [pixels.buffer as ArrayBuffer],
    };
  } catch (error) {
    const known = error instanceof ImageDecodeError || error instanceof ImageReadError || error instanceof PngChunkError;
    const reason = known ? error.reason : "unreadable";
    const message = error instanceof Error ? error.message : String(error);
    return { reply: { id: request.id, ok: false, reason, error: message, times }, transfer: [] };
  }
}

parentPort?.on("message", (request: PrepareRequest) => {
  void prepare(request).then(({ reply, transfer }) => parentPort!.postMessage(reply, transfer));
});
