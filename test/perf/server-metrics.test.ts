/** emb perf --collect-metrics' pieces: a scrape's CPU gauges, their summary, and where the metrics are by default. */
import { describe, expect, it } from "vitest";
import { metricsUrl, parseMetricsSample, summarizeMetrics } from "../../src/perf/server-metrics.js";

const SCRAPE = `# HELP nv_inference_count Number of inferences performed (does not include cached requests)
# TYPE nv_inference_count counter
nv_inference_count{model="siglip_text",version="1"} 12
# HELP nv_cpu_utilization CPU utilization rate [0.0 - 1.0]
# TYPE nv_cpu_utilization gauge
nv_cpu_utilization 0.25
# TYPE nv_cpu_memory_total_bytes gauge
nv_cpu_memory_total_bytes 8000
# TYPE nv_cpu_memory_used_bytes gauge
nv_cpu_memory_used_bytes 3000
`;

describe("emb perf --collect-metrics: the server's metrics", () => {
  it("reads the CPU gauges of a scrape and leaves out what is not there", () => {
    expect(parseMetricsSample(SCRAPE, 5)).toEqual({ atMs: 5, cpuUtilization: 0.25, cpuMemoryTotalBytes: 8000, cpuMemoryUsedBytes: 3000 });
    // A GPU Triton without CPU metrics (--allow-cpu-metrics=false).
    expect(parseMetricsSample('nv_gpu_utilization{gpu_uuid="GPU-1"} 0.5\n', 1)).toEqual({ atMs: 1 });
  });

  it("averages utilization, keeps the largest memory used and the total; null without samples", () => {
    const samples = [
      { atMs: 0, cpuUtilization: 0.2, cpuMemoryUsedBytes: 10, cpuMemoryTotalBytes: 100 },
      { atMs: 1, cpuUtilization: 0.6, cpuMemoryUsedBytes: 30, cpuMemoryTotalBytes: 100 },
      { atMs: 2, cpuUtilization: 0.4, cpuMemoryUsedBytes: 20, cpuMemoryTotalBytes: 100 },
    ];
    expect(summarizeMetrics(samples)).toEqual({ samples: 3, avgCpuUtilization: expect.closeTo(0.4, 10), maxCpuMemoryUsedBytes: 30, totalCpuMemoryBytes: 100 });
    expect(summarizeMetrics([])).toEqual({ samples: 0, avgCpuUtilization: null, maxCpuMemoryUsedBytes: null, totalCpuMemoryBytes: null });
  });

  it("defaults to Triton's metrics port on the --url host, and takes perf_analyzer's host:port/path", () => {
    expect(metricsUrl(undefined, "http://10.0.0.5:8000").href).toBe("http://10.0.0.5:8002/metrics");
    expect(metricsUrl(undefined, "http://[::1]:8000").href).toBe("http://[::1]:8002/metrics");
    expect(metricsUrl("localhost:8002/metrics", "http://127.0.0.1:8000").href).toBe("http://localhost:8002/metrics");
    expect(metricsUrl("https://m.example:9000/m", "http://127.0.0.1:8000").href).toBe("https://m.example:9000/m");
  });
});
