/**
 * Florence-2's task tokens: which take extra text, the prompt each one becomes, and how its
 * generated answer is parsed. The prompts are the ones HF's Florence2Processor (transformers
 * 4.57.1) builds, checked against its output in test/fixtures/goldens/florence2/goldens.json.
 */

/** How post-processing reads a task's generated text (see postprocess.ts). */
export type AnswerKind =
  /** The text itself, with <s> and </s> removed. */
  | "text"
  /** Labelled boxes: a phrase, then one or more groups of four <loc_N>. */
  | "labelled_boxes"
  /** Boxes without labels: runs of <loc_N> only. */
  | "boxes"
  /** Like labelled_boxes, but pronouns and other vague phrases are dropped. */
  | "phrase_grounding"
  /** Text lines, each followed by a quadrilateral of eight <loc_N>. */
  | "quad_boxes"
  /** Unlabelled polygons, optionally wrapped in <poly>...</poly>. */
  | "polygons"
  /** Labelled polygons when the answer has <poly>, labelled boxes otherwise. */
  | "boxes_or_polygons";

export interface TaskSpec {
  /** The task token, e.g. "<OD>". */
  task: string;
  /** Whether the task must be given text (`--text`) to work on. */
  needsText: boolean;
  /** What kind of text the task wants, for error messages and help; absent when it takes none. */
  textHint?: string;
  /** The prompt is prefix + text + suffix (just the prefix for tasks without text). */
  promptPrefix: string;
  promptSuffix: string;
  answer: AnswerKind;
}

/** Raised for an unknown task or text that does not suit the task; the message is for users. */
export class TaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TaskError";
  }
}

const CAPTION_HINT = 'a caption whose phrases to locate, e.g. "A green car parked in front of a yellow building."';
const REGION_HINT = 'a region as four <loc_N> tokens (x1, y1, x2, y2 in 0-999), e.g. "<loc_52><loc_332><loc_932><loc_774>"';

function plain(task: string, prompt: string, answer: AnswerKind): TaskSpec {
  return { task, needsText: false, promptPrefix: prompt, promptSuffix: "", answer };
}

function withText(task: string, prefix: string, suffix: string, textHint: string, answer: AnswerKind): TaskSpec {
  return { task, needsText: true, textHint, promptPrefix: prefix, promptSuffix: suffix, answer };
}

const SPECS: readonly TaskSpec[] = [
  plain("<CAPTION>", "What does the image describe?", "text"),
  plain("<DETAILED_CAPTION>", "Describe in detail what is shown in the image.", "text"),
  plain("<MORE_DETAILED_CAPTION>", "Describe with a paragraph what is shown in the image.", "text"),
  withText("<CAPTION_TO_PHRASE_GROUNDING>", "Locate the phrases in the caption: ", "", CAPTION_HINT, "phrase_grounding"),
  plain("<OD>", "Locate the objects with category name in the image.", "labelled_boxes"),
  plain("<DENSE_REGION_CAPTION>", "Locate the objects in the image, with their descriptions.", "labelled_boxes"),
  plain("<REGION_PROPOSAL>", "Locate the region proposals in the image.", "boxes"),
  plain("<OCR>", "What is the text in the image?", "text"),
  plain("<OCR_WITH_REGION>", "What is the text in the image, with regions?", "quad_boxes"),
  withText("<OPEN_VOCABULARY_DETECTION>", "Locate ", " in the image.", 'an expression naming what to detect, e.g. "a green car"', "boxes_or_polygons"),
  withText("<REFERRING_EXPRESSION_SEGMENTATION>", "Locate ", " in the image with mask", 'an expression naming what to segment, e.g. "a green car"', "polygons"),
  withText("<REGION_TO_SEGMENTATION>", "What is the polygon mask of region ", "", REGION_HINT, "polygons"),
  withText("<REGION_TO_CATEGORY>", "What is the region ", "?", REGION_HINT, "text"),
  withText("<REGION_TO_DESCRIPTION>", "What does the region ", " describe?", REGION_HINT, "text"),
  withText("<REGION_TO_OCR>", "What text is in the region ", "?", REGION_HINT, "text"),
];

const BY_TASK = new Map(SPECS.map((spec) => [spec.task, spec]));

/** The 15 task tokens, in the order help texts list them. */
export const FLORENCE_TASKS: readonly string[] = SPECS.map((spec) => spec.task);

export function taskSpec(task: string): TaskSpec {
  const spec = BY_TASK.get(task);
  if (!spec) {
    throw new TaskError(`unknown Florence-2 task ${JSON.stringify(task)}; valid tasks: ${FLORENCE_TASKS.join(", ")}`);
  }
  return spec;
}

/** Python's str.strip(): its whitespace set differs from String.prototype.trim's (\x1c-\x1f, \x85; not \uFEFF). */
const PY_STRIP =
  /^[\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

export function pyStrip(text: string): string {
  return text.replace(PY_STRIP, "");
}

/**
 * The prompt Florence2Processor makes of `task + text`. The processor strips the text; it
 * raises when a task without text gets some. We also refuse a task that needs text without it
 * (the processor would prompt with a blank) and text holding a task token (the processor would
 * raise or silently switch to that task).
 */
export function buildPrompt(task: string, text?: string): string {
  const spec = taskSpec(task);
  if (!spec.needsText) {
    // "" is what the processor sees for no text at all, so it is accepted.
    if (text !== undefined && text !== "") {
      throw new TaskError(`${task} takes no --text, but got ${JSON.stringify(text)}`);
    }
    return spec.promptPrefix;
  }
  const input = pyStrip(text ?? "");
  if (input === "") throw new TaskError(`${task} needs --text: ${spec.textHint}`);
  const token = FLORENCE_TASKS.find((t) => input.includes(t));
  if (token !== undefined) {
    throw new TaskError(`--text for ${task} must not contain the task token ${token}`);
  }
  return spec.promptPrefix + input + spec.promptSuffix;
}
