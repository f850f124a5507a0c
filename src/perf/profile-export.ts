/**
 * `emb perf --profile-export-file`: every request's send and answer times in perf_analyzer's
 * profile export format, so tools that read perf_analyzer's file (genai-perf, AIPerf-style
 * analysis) read emb's.
 *
 * Source read: triton-inference-server/perf_analyzer, src/profile_data_exporter.cc
 * (ProfileDataExporter::ConvertToJson) and src/profile_data_collector.cc (AddWindow). The document:
 *
 *   { "experiments": [ { "experiment": { "mode": "concurrency" | "request_rate", "value": N },
 *                        "requests": [ { "timestamp": ns, "request_inputs": {...},
 *                                        "response_timestamps": [ns, ...], "response_outputs": [{...}, ...] } ],
 *                        "window_boundaries": [ns, ...] } ],
 *     "version": "...", "service_kind": "triton" | ..., "endpoint": "" }
 *
 * Times are integer nanoseconds since the Unix epoch (perf_analyzer's system_clock). One
 * experiment per load level. perf_analyzer adds the requests of every measurement window, the
 * windows before stability included, and its window_boundaries are the first window's start and
 * then each window's end; emb does the same. A request belongs to the window its answer came in.
 * perf_analyzer 2.41.0 writes only timestamp and response_timestamps per request, and experiments
 * and version at the top; emb writes the later versions' keys too, which readers of the older file
 * ignore. emb does not copy tensors into the file: request_inputs is empty and each response's outputs
 * are an empty object (one per response timestamp, as perf_analyzer pairs them).
 */
import { writeFileSync } from "node:fs";

/** A request as the export records it: when it was sent and when its answer was read. */
export interface RequestRecord {
  sentNs: bigint;
  answeredNs: bigint;
}

/** The per-request account of one load level, across all its measurement windows. */
export interface ProfileRecord {
  requests: RequestRecord[];
  /** The first window's start, then each window's end. */
  windowBoundariesNs: bigint[];
}

export interface ProfileExperiment extends ProfileRecord {
  mode: "concurrency" | "request_rate";
  value: number;
}

// The epoch at one instant plus the monotonic clock since: wall-clock nanoseconds that never step back.
const EPOCH_BASE_NS = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)) - process.hrtime.bigint();

/** Nanoseconds since the Unix epoch, monotonic within the process. */
export function wallClockNs(): bigint {
  return EPOCH_BASE_NS + process.hrtime.bigint();
}

export interface ExportMeta {
  /** perf_analyzer writes its own version here; emb writes "emb <version>". */
  version: string;
  /** "triton" for a KServe v2 server (what perf_analyzer writes for one); "" in process, perf_analyzer's value for a kind it has no name for. */
  serviceKind: string;
  /** perf_analyzer's --endpoint, empty for a Triton server. */
  endpoint: string;
}

/** The export document as perf_analyzer writes it (timestamps as exact integers). */
export function profileExportJson(experiments: ProfileExperiment[], meta: ExportMeta): string {
  const doc = {
    experiments: experiments.map((e) => ({
      experiment: { mode: e.mode, value: e.value },
      requests: [...e.requests]
        .sort((a, b) => (a.sentNs < b.sentNs ? -1 : a.sentNs > b.sentNs ? 1 : 0))
        .map((r) => ({ timestamp: r.sentNs, request_inputs: {}, response_timestamps: [r.answeredNs], response_outputs: [{}] })),
      window_boundaries: e.windowBoundariesNs,
    })),
    version: meta.version,
    service_kind: meta.serviceKind,
    endpoint: meta.endpoint,
  };
  // JSON numbers are doubles in JavaScript: 19-digit nanosecond times are written from the bigints as digits.
  return JSON.stringify(doc, (_key, value) => (typeof value === "bigint" ? `\u0000${value}` : value)).replace(/"\\u0000(\d+)"/g, "$1");
}

export function writeProfileExport(file: string, experiments: ProfileExperiment[], meta: ExportMeta): void {
  writeFileSync(file, profileExportJson(experiments, meta));
}

/** A level's experiment from its measurement: a concurrency, or a request rate. */
export function experimentOf(level: { concurrency?: number; requestRate?: number }, record: ProfileRecord): ProfileExperiment {
  return level.requestRate !== undefined
    ? { mode: "request_rate", value: level.requestRate, ...record }
    : { mode: "concurrency", value: level.concurrency ?? 0, ...record };
}
