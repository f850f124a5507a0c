// Benchmark: N clients at once against `emb serve`, each on its own connection with one request
// in flight (the Triton deployment's "send each request in its own thread" pattern at a scale their ulimit
// note warns about). Starts the server (built CLI), fires every request together, and reports
// answered / failed, wall time, client latency percentiles and the server's peak resident memory
// (VmHWM), plus its resident memory when idle after loading, as one Markdown row.
//
// Usage: node bench/serve-connections.mjs [--connections 5000] [--target siglip_text|embed_image]
//          [--model test/fixtures/siglip-tiny] [--image test/fixtures/images/photo_500x375.jpg]
//          [--batch-size 32] [--max-queue-delay-us 0]
//   needs: npm ci (dist/), and `ulimit -n` above the connection count for this shell.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    connections: { type: "string", default: "5000" },
    target: { type: "string", default: "siglip_text" },
    model: { type: "string", default: "test/fixtures/siglip-tiny" },
    image: { type: "string", default: "test/fixtures/images/photo_500x375.jpg" },
    "batch-size": { type: "string", default: "32" },
    "max-queue-delay-us": { type: "string", default: "0" },
  },
});
const connections = Number(values.connections);

const server = spawn(
  process.execPath,
  [
    join(root, "bin", "run.js"),
    "serve",
    "--model",
    `siglip=${values.model}`,
    "--port",
    "0",
    "--no-progress",
    "--batch-size",
    values["batch-size"],
    "--max-queue-delay-us",
    values["max-queue-delay-us"],
  ],
  { cwd: root, stdio: ["ignore", "ignore", "pipe"] },
);
let log = "";
const base = await new Promise((resolve, reject) => {
  server.stderr.on("data", (d) => {
    log += d;
    const url = /listening on (http:\/\/\S+)/.exec(log)?.[1];
    if (url) resolve(new URL(url));
  });
  server.on("exit", (code) => reject(new Error(`emb serve exited (${code}):\n${log}`)));
});

const memory = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${server.pid}/status`, "utf8"))[1]) / 1024;

// The request body: token ids in JSON (siglip_text), or the raw image (embed_image).
const body =
  values.target === "siglip_text"
    ? Buffer.from(JSON.stringify({ inputs: [{ name: "INPUT_IDS", shape: [1, 64], datatype: "INT64", data: [3, 5, 4, 3, 575, ...Array(59).fill(1)] }] }))
    : readFileSync(values.image);
const headers =
  values.target === "siglip_text"
    ? { "Content-Type": "application/json" }
    : { "Content-Type": "application/octet-stream", "Inference-Header-Content-Length": "0" };

// Warm the model once, then note the idle footprint.
await send(new http.Agent({ keepAlive: false }));
const idleRssMb = memory("VmRSS");

function send(agent) {
  return new Promise((resolve) => {
    const start = performance.now();
    const req = http.request(
      {
        host: base.hostname,
        port: base.port,
        path: `/v2/models/${values.target}/infer`,
        method: "POST",
        headers: { ...headers, "Content-Length": body.length },
        agent,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ ok: res.statusCode === 200, status: res.statusCode, ms: performance.now() - start }));
      },
    );
    req.on("error", (error) => resolve({ ok: false, status: error.code ?? error.message, ms: performance.now() - start }));
    req.end(body);
  });
}

// One socket per client: no pooling, every request opens its own connection at once.
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const started = performance.now();
const results = await Promise.all(Array.from({ length: connections }, () => send(agent)));
const seconds = (performance.now() - started) / 1000;
const peakMb = memory("VmHWM");
server.kill("SIGTERM");

const ok = results.filter((r) => r.ok);
const failures = {};
for (const r of results.filter((r) => !r.ok)) failures[r.status] = (failures[r.status] ?? 0) + 1;
const sorted = ok.map((r) => r.ms).sort((a, b) => a - b);
const pct = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * (sorted.length - 1) + 0.5))] : NaN);
console.log("| target | model | connections | answered | failed | wall s | p50 ms | p99 ms | idle RSS MiB | peak RSS MiB |");
console.log("|---|---|---|---|---|---|---|---|---|---|");
console.log(
  `| ${values.target} | ${values.model} | ${connections} | ${ok.length} | ${results.length - ok.length}${Object.keys(failures).length ? ` ${JSON.stringify(failures)}` : ""} | ${seconds.toFixed(1)} | ${pct(50).toFixed(0)} | ${pct(99).toFixed(0)} | ${idleRssMb.toFixed(0)} | ${peakMb.toFixed(0)} |`,
);
process.exitCode = ok.length === results.length ? 0 : 1;
