import { EmbCommand } from "../src/cli/command.js";
import { perfFlags, perfOptions } from "../src/cli/perf.js";
import { openFromFlags } from "../src/cli/run-support.js";
import { runPerf } from "../src/perf/run-perf.js";

export default class Perf extends EmbCommand {
  static override summary =
    "perf_analyzer for emb's in-process runtime or a running server (--url): throughput and latency under N requests in flight or R requests a second; --sweep tunes the batcher.";
  static override description =
    `Keeps --concurrency requests in flight against a target (siglip-image, siglip-text, or florence:<TASK>, e.g. florence:<CAPTION>), each request one image or caption through the same stages the commands run (preparation, the dynamic batcher, the model, post-processing). After a warm-up it measures windows of --measurement-interval ms until three in a row agree within --stability-percentage, and reports throughput, client latency (avg, std, p50, p90, p95, p99), the runtime's own breakdown per request (queue, preprocess, inference, postprocess), inferences versus executions and the batch sizes the batcher formed, and peak memory. A range start:end:step measures each concurrency and draws throughput against latency (SVG and PNG). --request-rate-range sends requests open-loop at R per second instead (--request-distribution constant or poisson, or the intervals of a --request-intervals file), each at its time whether or not earlier ones have finished (against a server, from a thread of their own), and counts as delayed those over 1 ms overdue when the client came to them (perf_analyzer's rule) and as late those sent over 1 ms after their time. --measurement-mode count_windows makes each window at least --measurement-request-count requests and one second long. --sweep measures max batch size x max queue delay x workers combinations, ranks them and saves the best (under --latency-limit) for --batcher-config. --url measures a running KServe v2 / Triton HTTP server instead (emb serve or a Triton Inference Server) with the same report: --target picks what is sent (to siglip_text, siglip_vision or florence2, or the model --model-name names), the client times each request, and the breakdown, inferences, executions and batch sizes come from the server's statistics over the measured windows, as perf_analyzer's server-side numbers do; no model is loaded here, so no arithmetic is counted. In process, after measuring, the model is loaded once more with onnxruntime's profiler on to count its operations per item (matrix products and convolutions, from the shapes of one batch of --batch-size as run), and each row reports the GFLOP/s its throughput makes and their share of the CPU's estimated fp32 peak (cores x clock x fp32 operations per cycle, from /proc/cpuinfo); --no-arithmetic skips that load.`;

  static override examples = [
    "<%= config.bin %> <%= command.id %> --target siglip-image --concurrency 60",
    "<%= config.bin %> <%= command.id %> --target siglip-text --input input_ids.json --concurrency 1:64:8 --csv text.csv --chart text-chart",
    '<%= config.bin %> <%= command.id %> --target "florence:<CAPTION>" --input ./photos --concurrency 8 --max-new-tokens 20',
    "<%= config.bin %> <%= command.id %> --target siglip-image --sweep --latency-limit 500 --save-config batcher.json",
    "<%= config.bin %> <%= command.id %> --target siglip-text --request-rate-range 20:100:20 --request-distribution poisson --csv rate.csv",
    "<%= config.bin %> <%= command.id %> --target siglip-image --request-rate-range 8 --measurement-mode count_windows --measurement-request-count 100",
    "<%= config.bin %> <%= command.id %> --url http://127.0.0.1:8000 --target siglip-text --concurrency 1:64:8",
    "<%= config.bin %> <%= command.id %> --url http://triton:8000 --target siglip-image --model-name embed_image --input ./photos --concurrency 16",
  ];

  static override enableJsonFlag = true;

  static override flags = perfFlags;

  async run(): Promise<Record<string, unknown>> {
    const { flags, raw } = await this.parse(Perf);
    const options = perfOptions(flags, raw, this.argv);
    // --json prints the result as JSON instead of tables; --no-progress hides only the progress.
    const showProgress = !this.jsonEnabled() && flags.progress;
    return runPerf(options, {
      log: (line) => this.log(line),
      progress: (m) => {
        if (showProgress) this.logToStderr(m);
      },
      warn: (m) => this.warn(m),
      open: async (role, session) => (await openFromFlags(role, flags, showProgress, (m) => this.usageError(m), session)).model,
    });
  }
}
