/**
 * Zero-shot prompts: each class becomes one or more captions from templates with `{label}`
 * (the class label, e.g. a synset id) and `{text}` (its names) placeholders.
 */
import type { LabelMapping } from "./dataset.js";

export const DEFAULT_TEMPLATE = "A photo of {text}.";

/** How a class's names fill `{text}`: all of them as the mapping lists them, the first, or one prompt per name. */
export type NamesMode = "all" | "first" | "each";
export const NAMES_MODES: NamesMode[] = ["all", "first", "each"];

export class TemplateError extends Error {}

export function checkTemplate(template: string): void {
  if (!template.includes("{text}") && !template.includes("{label}")) {
    throw new TemplateError(`--template "${template}" has neither {text} nor {label}; e.g. "${DEFAULT_TEMPLATE}"`);
  }
}

/** The captions whose embeddings, averaged, stand for `label`. */
export function classPrompts(label: string, names: string[], templates: string[], mode: NamesMode): string[] {
  const texts = mode === "each" ? names : [mode === "first" ? names[0] : names.join(", ")];
  return templates.flatMap((t) => texts.map((text) => t.replaceAll("{label}", label).replaceAll("{text}", text)));
}

/** Every class's prompts, for the classes the mapping names. */
export function promptsByClass(labels: string[], mapping: LabelMapping, templates: string[], mode: NamesMode): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const label of labels) {
    const names = mapping.get(label);
    if (names) out.set(label, classPrompts(label, names, templates, mode));
  }
  return out;
}

/**
 * A class's text vector: the mean of its prompts' unit-length embeddings (the usual prompt
 * ensemble). One prompt's embedding is kept as it is: cosine distance ignores length.
 */
export function meanOfUnitVectors(vectors: Float32Array[]): Float32Array {
  if (vectors.length === 1) return vectors[0];
  const dim = vectors[0].length;
  const mean = new Float64Array(dim);
  for (const v of vectors) {
    let norm = 0;
    for (let i = 0; i < dim; i++) norm += v[i] * v[i];
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < dim; i++) mean[i] += v[i] / norm / vectors.length;
  }
  return Float32Array.from(mean);
}
