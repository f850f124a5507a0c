/** What `emb coco eval` prints and writes: the metric table, with the numbers the Triton deployment reached beside it on COCO 2014 val, and the report files. */
import Table from "cli-table3";
import type { CocoAnnotations } from "../eval/coco/annotations.js";
import type { CocoEvaluation } from "../eval/coco/evaluate.js";
import type { ImageId } from "../eval/coco/types.js";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** What the Triton deployment's validation reached on COCO 2014 val (40,504 images, beam search). */
export const SEED_COCO_2014_VAL: Record<string, number> = {
  Bleu_1: 0.83,
  Bleu_4: 0.442,
  METEOR: 0.328,
  ROUGE_L: 0.63,
  CIDEr: 1.478,
};

/** Whether the annotations are COCO 2014 val's, where the numbers the Triton deployment reached are a fair comparison. */
export function seedNumbersApply(annotations: CocoAnnotations): boolean {
  const images = annotations.images;
  return images.length > 0 && images.every((i) => i.fileName.startsWith("COCO_val2014_"));
}

/** Results with an empty caption, in one line however many, so a results file full of blanks does not bury the scores. */
export function emptyCaptionNotes(empty: ImageId[]): string[] {
  if (empty.length === 0) return [];
  if (empty.length === 1) return [`note: image ${empty[0]} has an empty caption; it is scored as empty`];
  return [`note: ${empty.length} images have an empty caption; they are scored as empty; first: image ${empty[0]}`];
}

export function metricsTable(evaluation: CocoEvaluation, withSeeds: boolean, color: boolean): string {
  const head = ["metric", "score", "95% CI", ...(withSeeds ? ["seeds (COCO 2014 val)"] : [])];
  const table = new Table({ head, style: color ? {} : { head: [], border: [] } });
  for (const [name, score] of Object.entries(evaluation.metrics) as [string, number][]) {
    const ci = evaluation.intervals[name];
    table.push([
      name,
      score.toFixed(4),
      ci ? `${ci[0].toFixed(4)} - ${ci[1].toFixed(4)}` : "-",
      ...(withSeeds ? [SEED_COCO_2014_VAL[name]?.toFixed(3) ?? "-"] : []),
    ]);
  }
  return table.toString();
}

/** metrics.json (the report) and per-image.jsonl (every image's caption, tokens and scores) in `dir`. */
export function writeCocoReports(dir: string, report: Record<string, unknown>, perImage: unknown[]): void {
  writeFileSync(join(dir, "metrics.json"), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(dir, "per-image.jsonl"), perImage.map((p) => `${JSON.stringify(p)}\n`).join(""));
}
