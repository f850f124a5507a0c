/** What `emb knn eval` reports, shows and writes: the report's shape, the accuracy table, confused pairs, the report files. */
import Table from "cli-table3";
import { stringify } from "csv-stringify/sync";
import { writeFileSync } from "node:fs";
import { makeFolder } from "../io/directories.js";
import { join } from "node:path";
import type { LabelMapping, MappingSource } from "../eval/knn/dataset.js";
import type { Evaluation } from "../eval/knn/evaluate.js";

export interface MethodResult extends Omit<Evaluation, "predictions"> {
  method: string;
  template?: string;
}

/** report.json, and what --json prints (with the output folder). */
export interface KnnRunResult {
  data: string;
  mapping: { source: MappingSource; path?: string; classes: number };
  images: { train: number; valid: number; fromEmbeddingsFolder: number; fromCache: number; embedded: number; failed: number };
  failures: { path: string; reason: string; error: string }[];
  /** What was left out and why, in words. */
  notes: string[];
  methods: MethodResult[];
  interrupted: boolean;
}

export interface KnnRunOutput {
  result: KnnRunResult;
  /** The label mapping the classes were named by. */
  mapping: LabelMapping;
  predictions: { method: string; template?: string; predictions: Evaluation["predictions"] }[];
}

/** report.json, per-class.csv and predictions.jsonl (each valid image's label, prediction and top 5) in `dir`. */
export function writeKnnReports(dir: string, output: KnnRunOutput): void {
  const { result, predictions, mapping } = output;
  makeFolder(dir);
  writeFileSync(join(dir, "report.json"), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(dir, "per-class.csv"), perClassCsv(result, mapping));
  const lines = predictions.flatMap((m) => m.predictions.map(({ id, ...p }) => JSON.stringify({ method: m.method, template: m.template, path: id, ...p })));
  writeFileSync(join(dir, "predictions.jsonl"), lines.map((l) => `${l}\n`).join(""));
}

/** The lines printed on stdout when the job ends: the tables, or how to continue an interrupted run. */
export function knnEvalSummary(output: KnnRunOutput, out: string, confusions: number, color: boolean): string[] {
  const { result, mapping } = output;
  if (result.interrupted) return ["interrupted: the embeddings made so far are cached; run the same command again to continue"];
  const lines = [accuracyTable(result, color), ...agreementLines(result)];
  if (confusions > 0 && result.methods.some((m) => m.confusions.length > 0)) {
    lines.push("most confused classes:", confusionTable(result, mapping, confusions, color));
  }
  lines.push(`report.json, per-class.csv and predictions.jsonl in ${out}`);
  return lines;
}

const percent = (x: number) => (Number.isNaN(x) ? "-" : x.toFixed(4));

/** One row per method: top-1, top-5 and the template, as the Triton deployment's results table has them. */
export function accuracyTable(result: KnnRunResult, color: boolean): string {
  const table = new Table({
    head: ["method", "top-1", "top-5", "queries", "classes", "k", "weights", "search", "template"],
    style: color ? {} : { head: [], border: [] },
  });
  for (const m of result.methods) {
    table.push([m.method, percent(m.top1), percent(m.top5), m.queries, m.classes, m.k, m.weighting, m.search, m.template ?? ""]);
  }
  return table.toString();
}

/** The most often confused (true, predicted) class pairs of each method. */
export function confusionTable(result: KnnRunResult, mapping: LabelMapping, top: number, color: boolean): string {
  const table = new Table({ head: ["method", "count", "true class", "predicted as"], style: color ? {} : { head: [], border: [] } });
  const named = (label: string) => {
    const name = mapping.get(label)?.[0];
    return name && name !== label ? `${label} (${name})` : label;
  };
  for (const m of result.methods) {
    for (const c of m.confusions.slice(0, top)) table.push([m.method, c.count, named(c.label), named(c.predicted)]);
  }
  return table.toString();
}

export function agreementLines(result: KnnRunResult): string[] {
  return result.methods.flatMap((m) =>
    m.agreement
      ? [
          `${m.method}: HNSW vs exact search on ${m.agreement.queries} queries: same ${m.k} neighbours ${m.agreement.sameNeighbours}, ` +
            `same prediction ${m.agreement.samePrediction}, recall@${m.k} ${m.agreement.recall.toFixed(4)}`,
        ]
      : [],
  );
}

/** Per-class accuracy of every method, one CSV row per (method, class). */
export function perClassCsv(result: KnnRunResult, mapping: LabelMapping): string {
  const rows = result.methods.flatMap((m) =>
    m.perClass.map((c) => ({
      method: m.method,
      template: m.template ?? "",
      label: c.label,
      name: mapping.get(c.label)?.join(", ") ?? "",
      queries: c.queries,
      top1: c.top1,
      top5: c.top5,
    })),
  );
  return stringify(rows, { header: true, columns: ["method", "template", "label", "name", "queries", "top1", "top5"] });
}
