/**
 * `emb serve`'s Prometheus metrics: Triton's names, labels and help for the per-model counts and
 * durations and the CPU and memory gauges, and emb's own (rows per model execution, time preparing
 * rows). Every per-model value is read at scrape time from the statistics /v2/models/stats
 * answers, so the two never disagree. Served at /metrics on the HTTP port (behind the token) and,
 * as Triton does, on a metrics port of its own (MetricsServer).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { cpus, freemem, totalmem } from "node:os";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ServedEndpoint } from "./endpoint.js";

interface DurationJson {
  count: number;
  ns: number;
}

interface StatsJson {
  inference_count: number;
  execution_count: number;
  inference_stats: Record<"success" | "fail" | "queue" | "compute_input" | "compute_infer" | "compute_output", DurationJson>;
  batch_stats: { batch_size: number; compute_infer: DurationJson }[];
}

const LABELS = ["model", "version"] as const;
type Labels = Record<(typeof LABELS)[number], string>;

/** Powers of two up to the largest max_batch_size emb serves. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128];

/** How the CPU was used between two scrapes, from the kernel's per-core times as Triton reads /proc/stat. */
class CpuUtilization {
  private last = CpuUtilization.times();
  private value = 0;

  private static times(): { busy: number; all: number } {
    let busy = 0;
    let all = 0;
    for (const { times } of cpus()) {
      const used = times.user + times.nice + times.sys + times.irq;
      busy += used;
      all += used + times.idle;
    }
    return { busy, all };
  }

  /** The busy share of CPU time since the previous reading, 0 to 1; the previous value when too little time passed to tell. */
  read(): number {
    const now = CpuUtilization.times();
    const all = now.all - this.last.all;
    // os.cpus() counts in 10 ms ticks: a window of a few ticks says nothing.
    if (all >= 100 * cpus().length) {
      this.value = (now.busy - this.last.busy) / all;
      this.last = now;
    }
    return this.value;
  }
}

export class ServeMetrics {
  readonly registry = new Registry();
  private readonly cpu = new CpuUtilization();
  /** Executions per batch size already put in the histogram, per model: each scrape adds only what is new. */
  private readonly observed = new Map<string, Map<number, number>>();

  constructor(private readonly endpoints: readonly ServedEndpoint[]) {
    const registers = [this.registry];
    const models = () =>
      this.endpoints.map((e) => ({
        labels: { model: e.name, version: e.version } as Labels,
        endpoint: e,
        stats: e.statistics.toJson(e.name, e.version) as unknown as StatsJson,
      }));
    const counter = (name: string, help: string, value: (s: StatsJson) => number) =>
      new Counter({
        name,
        help,
        labelNames: LABELS,
        registers,
        collect() {
          this.reset();
          for (const m of models()) this.inc(m.labels, value(m.stats));
        },
      });
    const us = (d: DurationJson) => Math.round(d.ns / 1000);
    counter("nv_inference_request_success", "Number of successful inference requests, all batch sizes", (s) => s.inference_stats.success.count);
    counter("nv_inference_request_failure", "Number of failed inference requests, all batch sizes", (s) => s.inference_stats.fail.count);
    counter("nv_inference_count", "Number of inferences performed (does not include cached requests)", (s) => s.inference_count);
    counter("nv_inference_exec_count", "Number of model executions performed (does not include cached requests)", (s) => s.execution_count);
    counter("nv_inference_request_duration_us", "Cumulative inference request duration in microseconds (includes cached requests)", (s) =>
      us(s.inference_stats.success),
    );
    counter("nv_inference_queue_duration_us", "Cumulative inference queuing duration in microseconds (includes cached requests)", (s) =>
      us(s.inference_stats.queue),
    );
    counter("nv_inference_compute_input_duration_us", "Cumulative compute input duration in microseconds (does not include cached requests)", (s) =>
      us(s.inference_stats.compute_input),
    );
    counter("nv_inference_compute_infer_duration_us", "Cumulative compute inference duration in microseconds (does not include cached requests)", (s) =>
      us(s.inference_stats.compute_infer),
    );
    counter("nv_inference_compute_output_duration_us", "Cumulative inference compute output duration in microseconds (does not include cached requests)", (s) =>
      us(s.inference_stats.compute_output),
    );
    new Gauge({
      name: "nv_inference_pending_request_count",
      help: "Instantaneous number of pending requests awaiting execution per-model.",
      labelNames: LABELS,
      registers,
      collect() {
        this.reset();
        for (const m of models()) this.set(m.labels, m.endpoint.statistics.pending);
      },
    });
    const cpu = this.cpu;
    new Gauge({
      name: "nv_cpu_utilization",
      help: "CPU utilization rate [0.0 - 1.0]",
      registers,
      collect() {
        this.set(cpu.read());
      },
    });
    new Gauge({
      name: "nv_cpu_memory_total_bytes",
      help: "CPU total memory (RAM), in bytes",
      registers,
      collect() {
        this.set(totalmem());
      },
    });
    new Gauge({
      name: "nv_cpu_memory_used_bytes",
      help: "CPU used memory (RAM), in bytes",
      registers,
      collect() {
        // freemem() is the kernel's MemAvailable: what Triton subtracts too.
        this.set(totalmem() - freemem());
      },
    });
    new Counter({
      name: "emb_preprocess_duration_us",
      help: "Cumulative time preparing rows (image decode and resize, text tokenisation) in microseconds, summed over the rows of successful requests; divided by nv_inference_count, the mean per row",
      labelNames: LABELS,
      registers,
      collect() {
        this.reset();
        for (const m of models()) this.inc(m.labels, Math.round(m.endpoint.statistics.preparation.ns / 1000));
      },
    });
    const observed = this.observed;
    new Histogram({
      name: "emb_batch_size",
      help: "Rows per model execution (the dynamic batcher's batch sizes, as batch_stats of /v2/models/stats)",
      labelNames: LABELS,
      buckets: BATCH_BUCKETS,
      registers,
      collect() {
        for (const m of models()) {
          const seen = observed.get(m.labels.model) ?? new Map<number, number>();
          observed.set(m.labels.model, seen);
          // A model with no executions yet still shows its (empty) histogram.
          if (m.stats.batch_stats.length === 0) this.zero(m.labels);
          for (const b of m.stats.batch_stats) {
            for (let i = seen.get(b.batch_size) ?? 0; i < b.compute_infer.count; i++) this.observe(m.labels, b.batch_size);
            seen.set(b.batch_size, b.compute_infer.count);
          }
        }
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The metrics in the Prometheus text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** Triton's metrics port: GET /metrics alone, without the token, for scrapers on a private network. */
export class MetricsServer {
  private readonly http: Server;

  constructor(metrics: ServeMetrics) {
    this.http = createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://localhost").pathname.replace(/\/+$/, "");
      const answer = (code: number, type: string, body: string) => {
        res.writeHead(code, { "Content-Type": type, "Content-Length": Buffer.byteLength(body) });
        res.end(req.method === "HEAD" ? undefined : body);
      };
      if (path !== "/metrics") return answer(404, "text/plain", `no route ${req.method} ${req.url}: this port serves GET /metrics only\n`);
      if (req.method !== "GET" && req.method !== "HEAD") return answer(405, "text/plain", `/metrics takes GET, not ${req.method}\n`);
      metrics.text().then(
        (text) => answer(200, metrics.contentType, text),
        (error: Error) => answer(500, "text/plain", `${error.message}\n`),
      );
    });
    this.http.headersTimeout = 30_000;
    this.http.requestTimeout = 60_000;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.http.once("error", reject);
      this.http.listen({ port, host }, () => {
        this.http.off("error", reject);
        resolve(this.http.address() as AddressInfo);
      });
    });
  }

  /** Scrapes hold nothing worth waiting for: stops at once. */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeAllConnections();
    return closed;
  }
}
