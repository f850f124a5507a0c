import { Flags } from "@oclif/core";
import { EmbCommand } from "../src/cli/command.js";
import { generationFlags, imageInputFlags, imageModelFlags, modelFlags, textFlags } from "../src/cli/flags.js";
import { folderModelFlags, identifyFromFlags, openFromFlags } from "../src/cli/run-support.js";
import { ModelCapabilityError } from "../src/models/families.js";
import { serveOptions } from "../src/cli/serve.js";
import { FAMILIES } from "../src/serve/launch.js";
import { runServe } from "../src/serve/lifecycle.js";

export default class Serve extends EmbCommand {
  static override summary =
    "Serve the Triton models emb replaces (siglip_text, embed_text, siglip_vision, embed_image, florence2) over the KServe v2 / Triton HTTP and gRPC protocols, from the same runtime as the commands.";
  static override description =
    `Clients written for the Triton deployment and perf_analyzer run unchanged, and so do OpenAI embeddings clients (POST /v1/embeddings, GET /v1/models, vectors of unit length; images with "modality": "image"): health, server and model metadata, model config, statistics, and POST /v2/models/<name>/infer with JSON tensors, the binary tensor extension (Inference-Header-Content-Length, binary_data_output) or a raw image body; over gRPC (Triton's GRPCInferenceService, on --grpc-port, default 8001 as Triton's), ModelInfer with raw_input_contents or typed contents and request parameters (what perf_analyzer -i grpc sends, e.g. --request-parameter=base64_encoded:true:bool), ModelStreamInfer, metadata, config and statistics. --model siglip loads ${FAMILIES.siglip.endpoints.join(", ")} from the default SigLIP model, or from any embedding model given as siglip=DIR|HUB_ID (SigLIP 2, CLIP and DINOv2 too; an image-only model such as DINOv2 loads the image endpoints alone); --model florence2 loads florence2. Requests of all clients share each model's dynamic batcher (embed_text rows batch with siglip_text's, embed_image's with siglip_vision's). Listens on 127.0.0.1 unless --host says otherwise; a bad request gets a 400 with {"error": ...} (gRPC: INVALID_ARGUMENT) and the server keeps serving; SIGTERM or Ctrl-C answers the requests in flight, then exits.`;

  static override examples = [
    "<%= config.bin %> <%= command.id %>",
    "<%= config.bin %> <%= command.id %> --model siglip=./siglip-onnx --model florence2 --port 8000",
    "<%= config.bin %> <%= command.id %> --model siglip --batcher-config siglip_vision=vision-batcher.json --host 0.0.0.0 --token-file token.txt",
    "<%= config.bin %> <%= command.id %> --port 0 --grpc-port 0 --metrics-port 0",
    "<%= config.bin %> <%= command.id %> --host 0.0.0.0 --token-file token.txt --no-metrics-port",
    "<%= config.bin %> <%= command.id %> --no-grpc",
  ];

  static override flags = {
    ...modelFlags,
    ...textFlags,
    ...imageModelFlags,
    model: Flags.string({
      char: "m",
      description: `a model family to load and where from: ${Object.keys(FAMILIES).join(" or ")}, optionally =DIR or =HUB_ID (repeatable); siglip= takes any embedding model (SigLIP, SigLIP 2, CLIP, DINOv2); default siglip, none when --index is given alone`,
      multiple: true,
    }),
    index: Flags.string({
      description:
        "an emb embed image output folder to search (repeat for one job's shards): POST /v1/search answers text, image and row queries with its own model, GET /search is a search page; alone, it serves search only",
      multiple: true,
    }),
    dtype: Flags.string({ description: "weight variant of the ONNX graphs, as for the other commands (applies to every loaded model)", default: "fp32" }),
    host: Flags.string({ description: "address to listen on (0.0.0.0 for every interface)", default: "127.0.0.1" }),
    port: Flags.integer({ char: "p", description: "HTTP port (0: any free port)", default: 8000, min: 0, max: 65535 }),
    "grpc-port": Flags.integer({ description: "gRPC port (0: any free port)", default: 8001, min: 0, max: 65535 }),
    grpc: Flags.boolean({ description: "also serve the gRPC protocol (--no-grpc: HTTP only)", default: true, allowNo: true }),
    "metrics-port": Flags.integer({
      description:
        "port of the Prometheus metrics alone (GET /metrics; 0: any free port), on by default at 8002 as Triton's so scrapers and perf_analyzer --collect-metrics set up for Triton work unchanged; like Triton's it takes no token (counts and timings, no request data: keep it on a private network), while /metrics on --port is behind --token-file",
      default: 8002,
      min: 0,
      max: 65535,
    }),
    "no-metrics-port": Flags.boolean({
      description: "no separate metrics port: /metrics on --port only, behind the token when there is one",
      default: false,
    }),
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
    "max-inflight-mb": Flags.integer({
      description:
        "request bytes all clients together may have in the server at once, in MiB (default: 4 x --max-body-mb); a request beyond it gets a 503 with Retry-After (gRPC: UNAVAILABLE) without its body being read",
      min: 1,
    }),
    "token-file": Flags.string({
      description:
        "require Authorization: Bearer <token> with the token in this file (or set EMB_SERVE_TOKEN); without one, a --host other than loopback is warned about",
    }),
    ...generationFlags,
    progress: Flags.boolean({ description: "show download bars on stderr", default: true, allowNo: true }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Serve);
    const usage = (m: string) => this.usageError(m);
    await runServe(serveOptions(flags), {
      open: async (role, model) => (await openFromFlags(role, { ...flags, model }, flags.progress, usage)).model,
      log: (m) => this.logToStderr(m),
      warn: (m) => this.warn(m),
      cannotListen: (error) =>
        this.error(
          `${error.message} (--port 0, --grpc-port 0 or --metrics-port 0 takes any free port; --no-grpc serves HTTP only, --no-metrics-port serves /metrics on --port only)`,
          { exit: 1 },
        ),
      index: {
        openImage: async (m) => (await openFromFlags("image-embedder", folderModelFlags(m, flags), flags.progress, usage)).model,
        openText: async (m) => {
          try {
            return (await openFromFlags("text-embedder", folderModelFlags(m, flags), flags.progress, usage)).model;
          } catch (error) {
            if (error instanceof ModelCapabilityError) return undefined; // an image-only model answers image and row queries
            throw error;
          }
        },
        identify: (m) => identifyFromFlags("image-embedder", folderModelFlags(m, flags), flags.progress, usage),
      },
    });
  }
}
