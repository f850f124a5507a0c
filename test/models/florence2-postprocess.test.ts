import { describe, expect, it } from "vitest";
import { BANNED_GROUNDING_PHRASES, parseAnswer, postProcess } from "../../src/models/florence2/postprocess.js";
import { FLORENCE_TASKS, TaskError, buildPrompt, taskSpec } from "../../src/models/florence2/tasks.js";
import { readJson } from "../helpers/fixtures.js";

interface PostProcessingCase {
  task: string;
  text: string;
  image_size: [number, number];
  /** What Florence2Processor.post_process_generation returned ... */
  parsed?: Record<string, unknown>;
  /** ... or the error it raised. */
  error?: string;
}

interface PromptCase {
  task: string;
  text: string | null;
  prompt?: string;
  error?: string;
}

const golden = readJson("goldens", "florence2", "goldens.json");
const extra = readJson<{ post_processing: PostProcessingCase[]; prompts: PromptCase[] }>("goldens", "florence2", "postprocess-extra.json");

function labelled<T extends { task: string; text: string | null }>(cases: T[]): (T & { label: string })[] {
  return cases.map((c, i) => ({ ...c, label: `${i} ${c.task} ${JSON.stringify(c.text ?? null).slice(0, 60)}` }));
}

function run(c: PostProcessingCase): Record<string, unknown> {
  const [width, height] = c.image_size;
  return postProcess(c.task, c.text, { width, height });
}

describe("Florence-2 post-processing", () => {
  it.each(labelled<PostProcessingCase>(golden.post_processing))("golden $label", (c) => {
    expect(run(c)).toEqual(c.parsed);
  });

  const generated: PostProcessingCase[] = golden.cases.map(
    (c: { task: string; image_size: [number, number]; beam: { decoded: string; parsed: Record<string, unknown> } }) => ({
      task: c.task,
      text: c.beam.decoded,
      image_size: c.image_size,
      parsed: c.beam.parsed,
    }),
  );
  it.each(labelled(generated))("tiny model's generation $label", (c) => {
    expect(run(c)).toEqual(c.parsed);
  });

  const answered = extra.post_processing.filter((c) => c.parsed !== undefined);
  it.each(labelled(answered))("edge case $label", (c) => {
    expect(run(c)).toEqual(c.parsed);
  });

  const raised = extra.post_processing.filter((c) => c.error !== undefined);
  it.each(labelled(raised))("raises as the reference does: $label", (c) => {
    expect(() => run(c)).toThrow(RangeError);
  });

  it("covers every task in the goldens", () => {
    const covered = new Set([...golden.post_processing, ...extra.post_processing].map((c: PostProcessingCase) => c.task));
    expect([...covered].sort()).toEqual([...FLORENCE_TASKS].sort());
  });

  it("bans the grounding phrases the shipped processor config bans", () => {
    const config = readJson("florence2-tiny", "processor_config.json");
    expect([...BANNED_GROUNDING_PHRASES].sort()).toEqual([...config.post_processor_config.phrase_grounding.banned_grounding_tokens].sort());
  });

  it("parseAnswer gives the value postProcess keys by task", () => {
    const text = "</s><s>car<loc_52><loc_332><loc_932><loc_774></s>";
    expect(parseAnswer("<OD>", text, { width: 640, height: 480 })).toEqual({ bboxes: [[33, 159, 596, 371]], labels: ["car"] });
  });

  it("refuses an unknown task", () => {
    expect(() => postProcess("<NOPE>", "</s><s>x</s>", { width: 1, height: 1 })).toThrow(TaskError);
  });
});

describe("Florence-2 tasks and prompts", () => {
  it("knows the 15 tasks", () => {
    expect(FLORENCE_TASKS).toHaveLength(15);
    expect(new Set(FLORENCE_TASKS).size).toBe(15);
    for (const task of FLORENCE_TASKS) expect(taskSpec(task).task).toBe(task);
  });

  it.each(labelled<PromptCase>(golden.prompts))("golden prompt $label", (c) => {
    expect(taskSpec(c.task).needsText).toBe(c.text !== null);
    expect(buildPrompt(c.task, c.text ?? undefined)).toBe(c.prompt);
  });

  it.each(labelled(extra.prompts))("edge-case prompt $label", (c) => {
    if (c.error !== undefined) {
      expect(() => buildPrompt(c.task, c.text ?? undefined)).toThrow(TaskError);
    } else {
      expect(buildPrompt(c.task, c.text ?? undefined)).toBe(c.prompt);
    }
  });

  it("names the bad task and lists the valid ones", () => {
    let error: unknown;
    try {
      taskSpec("<CAPTIONS>");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TaskError);
    const message = (error as Error).message;
    expect(message).toContain('"<CAPTIONS>"');
    for (const task of FLORENCE_TASKS) expect(message).toContain(task);
    expect(() => buildPrompt("OD")).toThrow(TaskError);
  });

  it.each([
    ["<CAPTION_TO_PHRASE_GROUNDING>", "a caption"],
    ["<REFERRING_EXPRESSION_SEGMENTATION>", "an expression"],
    ["<OPEN_VOCABULARY_DETECTION>", "an expression"],
    ["<REGION_TO_SEGMENTATION>", "four <loc_N> tokens"],
    ["<REGION_TO_CATEGORY>", "four <loc_N> tokens"],
    ["<REGION_TO_DESCRIPTION>", "four <loc_N> tokens"],
    ["<REGION_TO_OCR>", "four <loc_N> tokens"],
  ])("%s without text says it needs --text: %s", (task, kind) => {
    for (const text of [undefined, "", " \n\u3000"]) {
      expect(() => buildPrompt(task, text)).toThrow(TaskError);
      expect(() => buildPrompt(task, text)).toThrow(`${task} needs --text`);
      expect(() => buildPrompt(task, text)).toThrow(kind);
    }
  });

  it("refuses text for a task that takes none", () => {
    expect(() => buildPrompt("<CAPTION>", "a dog")).toThrow(TaskError);
    expect(() => buildPrompt("<OD>", "cars")).toThrow("<OD> takes no --text");
    expect(buildPrompt("<OD>", "")).toBe("Locate the objects with category name in the image.");
  });

  it("refuses text that holds a task token", () => {
    // The processor would raise (<OD>) or switch to the earlier task in its table (<REFERRING...>).
    expect(() => buildPrompt("<OPEN_VOCABULARY_DETECTION>", "a <OD> car")).toThrow(TaskError);
    expect(() => buildPrompt("<REGION_TO_CATEGORY>", "<REFERRING_EXPRESSION_SEGMENTATION>")).toThrow(TaskError);
  });
});
