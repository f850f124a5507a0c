/**
 * `emb perf --collect-metrics`: the server's Prometheus metrics read every --metrics-interval ms
 * while it is measured, as perf_analyzer's --collect-metrics reads Triton's, and summed up over
 * each level's measured windows. perf_analyzer reads Triton's GPU metrics (nv_gpu_utilization,
 * nv_gpu_memory_used_bytes, ...); emb serve runs on the CPU, so these are the CPU ones Triton
 * reports too: nv_cpu_utilization, nv_cpu_memory_used_bytes, nv_cpu_memory_total_bytes.
 */
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { RemoteClient } from "./remote.js";

/** One scrape: the CPU gauges, each absent when the server does not report it. */
export interface MetricsSample {
  atMs: number;
  cpuUtilization?: number;
  cpuMemoryUsedBytes?: number;
  cpuMemoryTotalBytes?: number;
}

/** A level's measured windows as the server's metrics saw them; null where no sample had the gauge. */
export interface ServerMetricsSummary {
  /** Scrapes that fell in the measured windows. */
  samples: number;
  /** Mean of nv_cpu_utilization over them, 0 to 1 (perf_analyzer's "Avg GPU Utilization", for the CPU). */
  avgCpuUtilization: number | null;
  /** Largest nv_cpu_memory_used_bytes ("Max GPU Memory Usage"). */
  maxCpuMemoryUsedBytes: number | null;
  /** nv_cpu_memory_total_bytes ("Total GPU Memory"). */
  totalCpuMemoryBytes: number | null;
}

const GAUGES = {
  nv_cpu_utilization: "cpuUtilization",
  nv_cpu_memory_used_bytes: "cpuMemoryUsedBytes",
  nv_cpu_memory_total_bytes: "cpuMemoryTotalBytes",
} as const;

/** The gauges of a scrape in the Prometheus text format. */
export function parseMetricsSample(text: string, atMs: number): MetricsSample {
  const sample: MetricsSample = { atMs };
  for (const family of parsePrometheusTextFormat(text)) {
    const field = GAUGES[family.name as keyof typeof GAUGES];
    const value = Number(family.metrics[0]?.value);
    if (field && Number.isFinite(value)) sample[field] = value;
  }
  return sample;
}

export function summarizeMetrics(samples: MetricsSample[]): ServerMetricsSummary {
  const values = (pick: (s: MetricsSample) => number | undefined) => samples.map(pick).filter((v): v is number => v !== undefined);
  const utilization = values((s) => s.cpuUtilization);
  const used = values((s) => s.cpuMemoryUsedBytes);
  const total = values((s) => s.cpuMemoryTotalBytes);
  return {
    samples: samples.length,
    avgCpuUtilization: utilization.length ? utilization.reduce((a, b) => a + b) / utilization.length : null,
    maxCpuMemoryUsedBytes: used.length ? Math.max(...used) : null,
    totalCpuMemoryBytes: total.length ? total[total.length - 1] : null,
  };
}

/**
 * --metrics-url as given (perf_analyzer's form host:port/path needs no scheme), or by default
 * Triton's metrics port on the --url host: http://host:8002/metrics.
 */
export function metricsUrl(given: string | undefined, serverUrl: string): URL {
  if (given === undefined) {
    const url = new URL(serverUrl);
    return new URL(`${url.protocol}//${url.hostname.includes(":") && !url.hostname.startsWith("[") ? `[${url.hostname}]` : url.hostname}:8002/metrics`);
  }
  try {
    return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(given) ? given : `http://${given}`);
  } catch {
    throw new RangeError(`--metrics-url ${given}: not a URL; give the server's metrics address, e.g. localhost:8002/metrics`);
  }
}

/** Scrapes the metrics every `intervalMs` until stopped; a failed scrape is reported once and skipped. */
export class MetricsPoller {
  private readonly samples: MetricsSample[] = [];
  private readonly client: RemoteClient;
  private readonly path: string;
  private timer?: NodeJS.Timeout;
  private inFlight?: Promise<void>;
  private failed = false;

  constructor(
    readonly url: URL,
    /** Sent only to the --url server itself: a metrics port elsewhere never sees it. */
    token: string | undefined,
    private readonly intervalMs: number,
    private readonly onError: (message: string) => void,
  ) {
    this.client = new RemoteClient(url.origin, token, 1);
    this.path = url.pathname + url.search;
  }

  start(): void {
    void this.scrape();
    this.timer = setInterval(() => {
      // A slow server gets one scrape at a time.
      if (!this.inFlight) this.inFlight = this.scrape().finally(() => (this.inFlight = undefined));
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.inFlight;
    this.client.close();
  }

  /** Scrapes that succeeded so far. */
  get scraped(): number {
    return this.samples.length;
  }

  /** The samples taken from `fromMs` to `toMs` (Date.now() times). */
  between(fromMs: number, toMs: number): MetricsSample[] {
    return this.samples.filter((s) => s.atMs >= fromMs && s.atMs <= toMs);
  }

  private async scrape(): Promise<void> {
    try {
      const reply = await this.client.send("GET", this.path, undefined, { Accept: "text/plain" }, 10_000);
      if (reply.status !== 200) throw new Error(`HTTP ${reply.status}`);
      this.samples.push(parseMetricsSample(reply.body.toString("utf8"), Date.now()));
    } catch (error) {
      if (this.failed) return;
      this.failed = true;
      this.onError(
        `--collect-metrics: cannot read ${this.url.href}: ${error instanceof Error ? error.message : String(error)}; the metrics columns stay empty where no scrape succeeded`,
      );
    }
  }
}

/** "CPU 43.1% avg, memory 2.1 of 7.7 GiB max", for the progress lines. */
export function metricsText(m: ServerMetricsSummary): string {
  const gib = (b: number) => (b / 2 ** 30).toFixed(1);
  const cpu = m.avgCpuUtilization === null ? "CPU utilization not reported" : `CPU ${(100 * m.avgCpuUtilization).toFixed(1)}% avg`;
  const memory =
    m.maxCpuMemoryUsedBytes === null
      ? "memory not reported"
      : `memory ${gib(m.maxCpuMemoryUsedBytes)}${m.totalCpuMemoryBytes === null ? "" : ` of ${gib(m.totalCpuMemoryBytes)}`} GiB max`;
  return `Server metrics (${m.samples} scrapes): ${cpu}, ${memory}`;
}
