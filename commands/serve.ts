import { Flags } from "@oclif/core";
import { availableParallelism } from "node:os";
import { EmbCommand } from "../src/cli/command.js";
import { decodeOptions, generationFlags, generationOverrides, imageInputFlags, modelFlags } from "../src/cli/flags.js";
import { openFromFlags, readBearerToken } from "../src/cli/run-support.js";
import { PreparePool } from "../src/image/prepare-pool.js";
import { GrpcInferenceServer } from "../src/serve/grpc.js";
import { batcherSettingsFor, buildEndpoints, FAMILIES, loadedModels, parseModelSpecs, ServeSetupError, type OpenedModels } from "../src/serve/launch.js";
import { InferenceServer } from "../src/serve/server.js";
import { versions } from "../src/version.js";

export default class Serve extends EmbCommand {
  static override summary =
    "Serve the Triton models emb replaces (siglip_text, embed_text, siglip_vision, embed_image, florence2) over the KServe v2 / Triton HTTP and gRPC protocols, from the same runtime as the commands.";
  static override description =
    `Clients written for the Triton deployment and perf_analyzer run unchanged: health, server and model metadata, model config, statistics, and POST /v2/models/<name>/infer with JSON tensors, the binary tensor extension (Inference-Header-Content-Length, binary_data_output) or a raw image body; over gRPC (Triton's GRPCInferenceService, on --grpc-port, default 8001 as Triton's), ModelInfer with raw_input_contents or typed contents and request parameters (what perf_analyzer -i grpc sends, e.g. --request-parameter=base64_encoded:true:bool), ModelStreamInfer, metadata, config and statistics. --model siglip loads ${FAMILIES.siglip.endpoints.join(", ")}; --model florence2 loads florence2. Requests of all clients share each model's dynamic batcher (embed_text rows batch with siglip_text's, embed_image's with siglip_vision's). Listens on 127.0.0.1 unless --host says otherwise; a bad request gets a 400 with {"error": ...} (gRPC: INVALID_ARGUMENT) and the server keeps serving; SIGTERM or Ctrl-C answers the requests in flight, then exits.`;

  static override examples = [
    "<%= config.bin %> <%= command.id %>",
    "<%= config.bin %> <%= command.id %> --model siglip=./siglip-onnx --model florence2 --port 8000",
    "<%= config.bin %> <%= command.id %> --model siglip --batcher-config siglip_vision=vision-batcher.json --host 0.0.0.0 --token-file token.txt",
    "<%= config.bin %> <%= command.id %> --port 0 --grpc-port 0",
    "<%= config.bin %> <%= command.id %> --no-grpc",
  ];

  static override flags = {
    ...modelFlags,
    model: Flags.string({
      char: "m",
      description: `a model family to load and where from: ${Object.keys(FAMILIES).join(" or ")}, optionally =DIR or =HUB_ID (repeatable)`,
      multiple: true,
      default: ["siglip"],
    }),
    dtype: Flags.string({ description: "weight variant of the ONNX graphs, as for the other commands (applies to every loaded model)", default: "fp32" }),
    host: Flags.string({ description: "address to listen on (0.0.0.0 for every interface)", default: "127.0.0.1" }),
    port: Flags.integer({ char: "p", description: "HTTP port (0: any free port)", default: 8000, min: 0, max: 65535 }),
    "grpc-port": Flags.integer({ description: "gRPC port (0: any free port)", default: 8001, min: 0, max: 65535 }),
    grpc: Flags.boolean({ description: "also serve the gRPC protocol (--no-grpc: HTTP only)", default: true, allowNo: true }),
    "batch-size": Flags.integer({ description: "largest batch each model runs (default: siglip_text 32, siglip_vision 16, florence2 4)", min: 1 }),
    "max-queue-delay-us": Flags.integer({
      description: "how long a request may wait for a fuller batch, in microseconds (0: as Triton's dynamic_batching {})",
      default: 0,
      min: 0,
    }),
    "batcher-config": Flags.string({
      description:
        "batcher settings from emb perf --sweep --save-config: FILE for every model, or siglip_text=FILE, siglip_vision=FILE, florence2=FILE (repeatable)",
      multiple: true,
      default: [],
    }),
    workers: imageInputFlags.workers,
    "max-pixels": imageInputFlags["max-pixels"],
    "color-management": imageInputFlags["color-management"],
    "max-body-mb": Flags.integer({ description: "largest request body (HTTP) or message (gRPC) accepted, in MiB", default: 64, min: 1 }),
    "token-file": Flags.string({ description: "require Authorization: Bearer <token> with the token in this file (or set EMB_SERVE_TOKEN)" }),
    ...generationFlags,
    progress: Flags.boolean({ description: "show download bars on stderr", default: true, allowNo: true }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Serve);
    let specs, batching;
    try {
      specs = parseModelSpecs(flags.model);
      batching = batcherSettingsFor(flags["batcher-config"], { batchSize: flags["batch-size"], maxQueueDelayUs: flags["max-queue-delay-us"] });
    } catch (error) {
      if (error instanceof ServeSetupError) this.usageError(error.message);
      throw error;
    }
    const token = readBearerToken(flags["token-file"]);
    const usage = (m: string) => this.usageError(m);
    const opened: OpenedModels = {};
    const siglip = specs.get("siglip");
    if (siglip) {
      const image = (await openFromFlags("image-embedder", { ...flags, model: siglip }, flags.progress, usage)).model;
      const text = (await openFromFlags("text-embedder", { ...flags, model: siglip }, flags.progress, usage)).model;
      opened.siglip = { image, text };
    }
    const florence = specs.get("florence2");
    if (florence) {
      const { model } = await openFromFlags("image-to-text", { ...flags, model: florence }, flags.progress, usage);
      opened.florence2 = { model, settings: model.settings(generationOverrides(flags)) };
    }

    const workers = batching.workers ?? flags.workers ?? availableParallelism();
    const pool = new PreparePool(workers);
    const endpoints = buildEndpoints(opened, batching.batchers, { pool, workers, decode: decodeOptions(flags) });
    const maxBytes = flags["max-body-mb"] * 1024 * 1024;
    const service = { token, version: versions().emb, onError: (m: string) => this.warn(m) };
    const server = new InferenceServer(endpoints, { ...service, maxBodyBytes: maxBytes });
    const grpc = flags.grpc ? new GrpcInferenceServer(endpoints, { ...service, maxMessageBytes: maxBytes }) : undefined;
    const hostPort = (host: string, port: number) => `${host.includes(":") ? `[${host}]` : host}:${port}`;
    let address;
    try {
      if (grpc) this.logToStderr(`emb serve: gRPC on ${hostPort(flags.host, await grpc.listen(flags["grpc-port"], flags.host))}`);
      address = await server.listen(flags.port, flags.host);
    } catch (error) {
      this.error(`${(error as Error).message} (--port 0 or --grpc-port 0 takes any free port; --no-grpc serves HTTP only)`, { exit: 1 });
    }
    this.logToStderr(`emb serve: listening on http://${hostPort(address.address, address.port)} (models: ${endpoints.map((e) => e.name).join(", ")})`);

    await new Promise<void>((resolve) => {
      const stop = (name: string) => {
        this.logToStderr(`emb serve: ${name}: answering the requests in flight, then stopping`);
        resolve();
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    });
    await Promise.all([server.drain(), grpc?.drain()]);
    await pool.close();
    for (const model of loadedModels(opened)) await model.release();
    this.logToStderr("emb serve: stopped");
  }
}
