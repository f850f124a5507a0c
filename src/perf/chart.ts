/**
 * The throughput-latency chart of a concurrency sweep, as perf_analyzer / model-analyzer users draw
 * it: throughput (inferences/s) along x, latency (ms) up y, one point per concurrency (or request
 * rate) labelled with it, a p50 and a p99 line. Drawn with Vega's server-side SVG renderer (no browser, no canvas: text
 * widths are estimated) and rasterised to PNG by sharp. Fonts are whatever the system's
 * fontconfig offers for "sans-serif"; nothing depends on their exact metrics.
 */
import { writeFile } from "node:fs/promises";
import sharp from "sharp";
import { type Mark, parse, View, type Spec } from "vega";
import { levelOf, rateMode, type PerfRow } from "./report.js";

export interface ChartOptions {
  /** Size of the whole SVG, CSS pixels. */
  width?: number;
  height?: number;
  /** PNG pixels per SVG pixel. */
  scale?: number;
  title?: string;
}

export const CHART_DEFAULTS = { width: 800, height: 500, scale: 2, title: "Throughput vs. latency" } as const;

interface Point {
  /** The concurrency or the request rate. */
  level: number;
  throughput: number;
  latencyMs: number;
  series: string;
}

function points(rows: PerfRow[]): Point[] {
  const byLevel = [...rows].sort((a, b) => levelOf(a) - levelOf(b));
  const series = [
    { name: "p50 latency", of: (r: PerfRow) => r.latency.p50Us },
    { name: "p99 latency", of: (r: PerfRow) => r.latency.p99Us },
  ];
  return series.flatMap((s) => byLevel.map((r) => ({ level: levelOf(r), throughput: r.throughput, latencyMs: s.of(r) / 1000, series: s.name })));
}

/** The Vega specification of the chart (exported for inspection and tests). */
export function chartSpec(rows: PerfRow[], options: ChartOptions = {}): Spec {
  const { width, height, title } = { ...CHART_DEFAULTS, ...options };
  // Points are labelled "c=8" with a concurrency, "r=20/s" with a request rate.
  const rate = rateMode(rows);
  const label = rate ? "'r=' + datum.level + '/s'" : "'c=' + datum.level";
  return {
    $schema: "https://vega.github.io/schema/vega/v6.json",
    width,
    height,
    padding: 8,
    autosize: { type: "fit", contains: "padding" },
    background: "white",
    title: {
      text: title,
      subtitle: rate ? "points labelled with request rate (requests/s)" : "points labelled with concurrency",
      anchor: "start",
      font: "sans-serif",
      subtitleFont: "sans-serif",
    },
    config: { axis: { labelFont: "sans-serif", titleFont: "sans-serif" }, legend: { labelFont: "sans-serif", titleFont: "sans-serif" } },
    data: [
      { name: "points", values: points(rows) },
      { name: "labels", source: "points", transform: [{ type: "filter", expr: "datum.series === 'p99 latency'" }] },
    ],
    scales: [
      { name: "x", type: "linear", domain: { data: "points", field: "throughput" }, range: "width", zero: true, nice: true },
      { name: "y", type: "linear", domain: { data: "points", field: "latencyMs" }, range: "height", zero: true, nice: true },
      { name: "color", type: "ordinal", domain: ["p50 latency", "p99 latency"], range: ["#1f77b4", "#d62728"] },
    ],
    axes: [
      { orient: "bottom", scale: "x", title: "Throughput (inferences/s)", grid: true },
      { orient: "left", scale: "y", title: "Latency (ms)", grid: true },
    ],
    legends: [{ fill: "color", stroke: "color", orient: "top-left", title: "latency", symbolType: "circle" }],
    marks: [
      ...curveMarks({ latency: "latencyMs", series: "series", dotSize: 40 }),
      {
        type: "text",
        from: { data: "labels" },
        encode: {
          enter: {
            x: { scale: "x", field: "throughput" },
            y: { scale: "y", field: "latencyMs" },
            dx: { value: -6 },
            dy: { value: -6 },
            text: { signal: label },
            align: { value: "right" },
            baseline: { value: "bottom" },
            font: { value: "sans-serif" },
            fontSize: { value: 11 },
            fill: { value: "#333" },
          },
        },
      },
    ],
  };
}

/** Renders the chart to an SVG string. */
export async function throughputLatencySvg(rows: PerfRow[], options: ChartOptions = {}): Promise<string> {
  if (rows.length === 0) throw new RangeError("no rows to chart");
  const view = new View(parse(chartSpec(rows, options)), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Writes `<basePath>.svg` and `<basePath>.png` (the SVG at `scale` times its size). */
export async function writeThroughputLatencyChart(rows: PerfRow[], basePath: string, options: ChartOptions = {}): Promise<{ svg: string; png: string }> {
  const { scale } = { ...CHART_DEFAULTS, ...options };
  const svgText = await throughputLatencySvg(rows, options);
  const svg = `${basePath}.svg`;
  const png = `${basePath}.png`;
  await writeFile(svg, svgText);
  await sharp(Buffer.from(svgText), { density: 72 * scale })
    .flatten({ background: "#ffffff" })
    .png()
    .toFile(png);
  return { svg, png };
}

/**
 * The marks of throughput-latency curves over a "points" dataset (x scale "x", y scale "y",
 * colour scale "color"): per series a line through its points in load order, and a dot per point.
 */
export function curveMarks(fields: { latency: string; series: string; dotSize: number }): Mark[] {
  const at = { x: { scale: "x", field: "throughput" }, y: { scale: "y", field: fields.latency } };
  return [
    {
      type: "group",
      from: { facet: { name: "series", data: "points", groupby: fields.series } },
      marks: [
        {
          type: "line",
          from: { data: "series" },
          sort: { field: "datum.level" },
          encode: { enter: { ...at, stroke: { scale: "color", field: fields.series }, strokeWidth: { value: 2 } } },
        },
      ],
    },
    { type: "symbol", from: { data: "points" }, encode: { enter: { ...at, fill: { scale: "color", field: fields.series }, size: { value: fields.dotSize } } } },
  ];
}
