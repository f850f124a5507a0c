import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chartSpec, writeThroughputLatencyChart } from "../../src/perf/chart.js";
import { batchSizeText, formatMs, meanBatchSize, perfCsv, perfTable, type PerfRow } from "../../src/perf/report.js";
import type { LatencySummary } from "../../src/perf/stats.js";

const latency = (over: Partial<LatencySummary> = {}): LatencySummary => ({
  count: 1000,
  avgUs: 30_000.9,
  stdUs: 4_000.7,
  minUs: 20_000.2,
  maxUs: 60_000.6,
  p50Us: 28_000.5,
  p90Us: 40_000.4,
  p95Us: 45_000.3,
  p99Us: 55_000.99,
  ...over,
});

const row = (over: Partial<PerfRow> = {}): PerfRow => ({
  concurrency: 4,
  throughput: 123.456789,
  latency: latency(),
  breakdownUs: { queue: 5_000.7, preprocess: 3_000.2, inference: 15_000.9, postprocess: 999.9 },
  inferences: 1500,
  executions: 5,
  batchSizes: [
    { value: 1, count: 2 },
    { value: 4, count: 3 },
  ],
  peakRssBytes: 512 * 1024 * 1024,
  ...over,
});

const HEADER =
  "Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input," +
  "Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency,Avg latency," +
  "Std latency,Min latency,Max latency,Inferences,Executions,Avg Batch Size,Batch Sizes,Peak RSS Bytes,Max Batch Size," +
  "Max Queue Delay,Workers";

describe("perfCsv", () => {
  it("writes perf_analyzer's header, then emb's columns", () => {
    expect(perfCsv([]).trim()).toBe(HEADER);
    expect(perfCsv([row()]).split("\n")[0]).toBe(HEADER);
  });

  it("writes a row in whole microseconds, with the unaccounted time as Network+Server Send/Recv", () => {
    const lines = perfCsv([row({ maxBatchSize: 8, maxQueueDelayUs: 2000, workers: 3 })])
      .trim()
      .split("\n");
    expect(lines).toHaveLength(2);
    // stages add up to 24001.7 of the 30000.9 average: 5999.2 unaccounted.
    // mean batch (1*2 + 4*3) / 5 = 2.8
    expect(lines[1]).toBe("4,123.457,0,5999,5000,3000,15000,999,0,28000,40000,45000,55000,30000,4000,20000,60000,1500,5,2.8,1:2 4:3,536870912,8,2000,3");
  });

  it("floors the unaccounted time at 0, leaves unknown settings and an infinite std empty", () => {
    const r = row({
      latency: latency({ avgUs: 100, stdUs: Infinity }),
      breakdownUs: { queue: 50, preprocess: 50, inference: 50, postprocess: 50 },
      batchSizes: [],
      executions: 0,
    });
    const cells = perfCsv([r]).trim().split("\n")[1].split(",");
    expect(cells[3]).toBe("0");
    expect(cells[14]).toBe(""); // Std latency
    expect(cells[19]).toBe("0"); // Avg Batch Size
    expect(cells[20]).toBe(""); // Batch Sizes
    expect(cells.slice(-3)).toEqual(["", "", ""]);
  });

  it("orders rows by increasing throughput, as perf_analyzer's ReportWriter does", () => {
    const csv = perfCsv([row({ concurrency: 1, throughput: 50 }), row({ concurrency: 8, throughput: 210.5 }), row({ concurrency: 16, throughput: 200 })]);
    const concurrencies = csv
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.split(",")[0]);
    expect(concurrencies).toEqual(["1", "16", "8"]);
  });

  it("writes throughput with six significant digits, as C++'s ostream", () => {
    const cell = (t: number) =>
      perfCsv([row({ throughput: t })])
        .split("\n")[1]
        .split(",")[1];
    expect(cell(123.456789)).toBe("123.457");
    expect(cell(1500)).toBe("1500");
    expect(cell(0.123456789)).toBe("0.123457");
  });
});

describe("perfCsv in request-rate mode", () => {
  const rated = (over: Partial<PerfRow> = {}) =>
    row({ concurrency: undefined, requestRate: 20, requestCount: 300, delayedRequests: 6, sendRate: 19.87654321, ...over });

  it("heads the first column Request Rate, as perf_analyzer does, and ends with the request and delayed counts and the send rate", () => {
    const [header, line] = perfCsv([rated()]).trim().split("\n");
    expect(header).toBe(`Request Rate${HEADER.slice("Concurrency".length)},Request Count,Delayed Request Count,Avg Send Request Rate`);
    expect(line).toBe("20,123.457,0,5999,5000,3000,15000,999,0,28000,40000,45000,55000,30000,4000,20000,60000,1500,5,2.8,1:2 4:3,536870912,,,,300,6,19.8765");
  });

  it("writes decimal rates as C++'s ostream, rows by increasing throughput", () => {
    const csv = perfCsv([rated({ requestRate: 12.5, throughput: 12.4 }), rated({ requestRate: 0.333333333, throughput: 0.33 })]);
    expect(
      csv
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => l.split(",")[0]),
    ).toEqual(["0.333333", "12.5"]);
  });
});

describe("perfTable", () => {
  it("shows the request rate and the delayed requests in rate mode", () => {
    const text = perfTable([row({ concurrency: undefined, requestRate: 7.5, requestCount: 40, delayedRequests: 3 })], false);
    expect(text).toContain("request rate/s");
    expect(text).not.toContain("concurrency");
    expect(text).toContain("7.5");
    expect(text).toContain("delayed");
    expect(text).toContain("3/40");
    expect(perfTable([row()], false)).not.toContain("delayed");
  });

  it("shows every concurrency with latencies in ms and the breakdown", () => {
    const text = perfTable([row({ concurrency: 1, throughput: 40 }), row()], false);
    expect(text).not.toMatch(/\u001b\[/);
    for (const heading of ["concurrency", "infer/s", "p50 ms", "p99 ms", "queue ms", "prep ms", "infer ms", "post ms", "batch sizes", "peak RSS MiB"]) {
      expect(text).toContain(heading);
    }
    expect(text).toContain("123.5");
    expect(text).toContain("28.00"); // p50
    expect(text).toContain("55.00"); // p99
    expect(text).toContain("15.00"); // inference
    expect(text).toContain("4×3 1×2");
    expect(text).toContain("512");
    expect(text).not.toContain("max batch");
    expect(text).not.toContain("workers");
  });

  it("shows the batcher settings and workers only when known", () => {
    const text = perfTable([row({ maxBatchSize: 8, maxQueueDelayUs: 2000, workers: 3 }), row()], false);
    expect(text).toContain("max batch");
    expect(text).toContain("queue delay ms");
    expect(text).toContain("workers");
    expect(text).toContain("2.00");
  });

  it("gives the same cells with colour on (whether escapes appear depends on the terminal)", () => {
    const plain = perfTable([row()], false);
    expect(perfTable([row()], true).replace(/\u001b\[[0-9;]*m/g, "")).toBe(plain);
  });
});

describe("formatting helpers", () => {
  it("formatMs keeps the decimals a latency needs", () => {
    expect(formatMs(123_456)).toBe("123.5");
    expect(formatMs(12_345)).toBe("12.35");
    expect(formatMs(456)).toBe("0.456");
    expect(formatMs(Infinity)).toBe("-");
  });

  it("meanBatchSize weighs sizes by executions", () => {
    expect(meanBatchSize(row())).toBeCloseTo(2.8, 12);
    expect(meanBatchSize({ batchSizes: [] })).toBe(0);
  });

  it("batchSizeText lists the commonest sizes first", () => {
    const sizes = [1, 2, 3, 4, 5].map((value) => ({ value, count: value }));
    expect(batchSizeText(sizes, 2)).toBe("5×5 4×4 …");
    expect(batchSizeText([])).toBe("");
  });
});

/**
 * A small XML well-formedness check (no parser is among the dependencies): tags nest and close,
 * attributes are quoted, text has no bare "<" or "&". Returns the element names in document order.
 */
function parseXml(xml: string): string[] {
  const names: string[] = [];
  const open: string[] = [];
  const name = "[A-Za-z_:][-A-Za-z0-9_:.]*";
  const attr = `\\s+${name}\\s*=\\s*(?:"[^"<]*"|'[^'<]*')`;
  const startTag = new RegExp(`^<(${name})((?:${attr})*)\\s*(/?)>`);
  const endTag = new RegExp(`^</(${name})\\s*>`);
  const entity = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
  let i = 0;
  const rest = () => xml.slice(i);
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    const text = xml.slice(i, lt === -1 ? xml.length : lt);
    if (/[<&]/.test(text.replace(entity, ""))) throw new Error(`bad text at ${i}`);
    if (text.trim() && open.length === 0) throw new Error(`text outside the root at ${i}`);
    if (lt === -1) break;
    i = lt;
    const r = rest();
    let m: RegExpMatchArray | null;
    if (r.startsWith("<?")) i = xml.indexOf("?>", i) + 2;
    else if (r.startsWith("<!--")) i = xml.indexOf("-->", i) + 3;
    else if (r.startsWith("<![CDATA[")) i = xml.indexOf("]]>", i) + 3;
    else if ((m = r.match(endTag))) {
      if (open.pop() !== m[1]) throw new Error(`mismatched </${m[1]}> at ${i}`);
      i += m[0].length;
    } else if ((m = r.match(startTag))) {
      if (open.length === 0 && names.length > 0) throw new Error("two roots");
      names.push(m[1]);
      if (!m[3]) open.push(m[1]);
      i += m[0].length;
    } else throw new Error(`malformed markup at ${i}: ${r.slice(0, 40)}`);
    if (i < lt) throw new Error("unterminated markup");
  }
  if (open.length) throw new Error(`unclosed <${open.at(-1)}>`);
  return names;
}

describe("parseXml (the test's own checker)", () => {
  it("accepts well-formed and rejects broken markup", () => {
    expect(parseXml('<?xml version="1.0"?><svg a="1"><g><text>a &amp; b</text></g><path d="M0"/></svg>')).toEqual(["svg", "g", "text", "path"]);
    expect(() => parseXml("<svg><g></svg>")).toThrow();
    expect(() => parseXml("<svg><text>a & b</text></svg>")).toThrow();
    expect(() => parseXml("<svg a=1></svg>")).toThrow();
    expect(() => parseXml("<svg>")).toThrow();
  });
});

describe("writeThroughputLatencyChart", () => {
  let dir: string;
  const rows = [1, 2, 4, 8, 16].map((concurrency, i) =>
    row({
      concurrency,
      throughput: [40, 75, 130, 160, 165][i],
      latency: latency({ p50Us: [25, 27, 31, 50, 97][i] * 1000, p99Us: [30, 35, 42, 70, 130][i] * 1000 }),
    }),
  );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "emb-perf-chart-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes an SVG that parses, with titled axes and every concurrency labelled, and its PNG", async () => {
    const base = join(dir, "sweep");
    const out = await writeThroughputLatencyChart(rows, base);
    expect(out).toEqual({ svg: `${base}.svg`, png: `${base}.png` });
    expect((await stat(out.svg)).size).toBeGreaterThan(0);

    const svg = await readFile(out.svg, "utf8");
    const elements = parseXml(svg);
    expect(elements[0]).toBe("svg");
    expect(elements).toContain("text");
    expect(svg).toMatch(/<svg[^>]*width="800"[^>]*height="500"/);
    const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    for (const c of [1, 2, 4, 8, 16]) expect(texts).toContain(`c=${c}`);
    expect(texts).toContain("Throughput (inferences/s)");
    expect(texts).toContain("Latency (ms)");
    expect(texts).toContain("p50 latency");
    expect(texts).toContain("p99 latency");

    const png = await sharp(out.png).metadata();
    expect(png.format).toBe("png");
    expect([png.width, png.height]).toEqual([1600, 1000]);
  });

  it("takes another size and scale", async () => {
    const out = await writeThroughputLatencyChart(rows.slice(0, 1), join(dir, "one"), { width: 400, height: 300, scale: 1 });
    const png = await sharp(out.png).metadata();
    expect([png.width, png.height]).toEqual([400, 300]);
    expect(await readFile(out.svg, "utf8")).toContain("c=1");
  });

  it("plots p50 and p99 in ms against throughput, lines in concurrency order", () => {
    const spec = chartSpec([rows[2], rows[0]]);
    const values = (spec.data![0] as { values: { level: number; throughput: number; latencyMs: number; series: string }[] }).values;
    expect(values).toEqual([
      { level: 1, throughput: 40, latencyMs: 25, series: "p50 latency" },
      { level: 4, throughput: 130, latencyMs: 31, series: "p50 latency" },
      { level: 1, throughput: 40, latencyMs: 30, series: "p99 latency" },
      { level: 4, throughput: 130, latencyMs: 42, series: "p99 latency" },
    ]);
  });

  it("labels the points with the request rate in rate mode", async () => {
    const rated = rows.slice(0, 3).map((r, i) => ({ ...r, concurrency: undefined, requestRate: [2.5, 10, 20][i] }));
    const out = await writeThroughputLatencyChart(rated, join(dir, "rate"));
    const texts = [...(await readFile(out.svg, "utf8")).matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    for (const r of ["r=2.5/s", "r=10/s", "r=20/s"]) expect(texts).toContain(r);
    expect(texts.some((t) => t.startsWith("c="))).toBe(false);
    expect(texts).toContain("points labelled with request rate (requests/s)");
  });

  it("refuses an empty sweep", async () => {
    await expect(writeThroughputLatencyChart([], join(dir, "none"))).rejects.toThrow(RangeError);
  });
});
