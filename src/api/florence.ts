/**
 * Florence-2 tasks for Node programs: caption, detect, read text, ground phrases, segment, one
 * image at a time, with the beam search and post-processing `emb florence` uses.
 */
import type { GenerationOverrides } from "../generation/settings.js";
import { imageToTextTasks, openModel } from "../models/registry.js";
import type { ImageToText } from "../models/types.js";
import { prepareImage, type DecodeSettings, type ImageInput } from "./images.js";
import { registryOptions, type ModelOptions } from "../models/options.js";

/** The 15 task tokens, e.g. "<CAPTION>", "<OD>", "<OCR_WITH_REGION>". */
export const FLORENCE_TASKS: readonly string[] = imageToTextTasks.names;

export interface FlorenceRunOptions extends DecodeSettings, GenerationOverrides {
  /** The task's text input, for the tasks that take one (phrase grounding, referring expressions, regions). */
  text?: string;
}

export interface FlorenceAnswer {
  task: string;
  /** The parsed answer, as transformers' post_process_generation gives it: `{ "<OD>": { bboxes, labels } }`. */
  result: Record<string, unknown>;
  /** The generated text with its special tokens. */
  generated: string;
  /** The image's size after EXIF orientation: what the coordinates refer to. */
  width: number;
  height: number;
}

export class Florence2 {
  private constructor(private readonly model: ImageToText) {}

  /** Opens a Florence-2 model from a local folder or a hub repository; the default is onnx-community/Florence-2-large-ft. */
  static async open(options: ModelOptions = {}): Promise<Florence2> {
    const { model } = await openModel("image-to-text", registryOptions("image-to-text", options));
    return new Florence2(model);
  }

  /** The graphs, dtype and execution provider in use. */
  get info(): ImageToText["info"] {
    return this.model.info;
  }

  /**
   * Runs `task` on one image. An unknown task, or text missing for a task that needs it, throws a
   * TaskError naming the valid choices; an unreadable image rejects with an ImageInputError.
   */
  async run(task: string, image: ImageInput, options: FlorenceRunOptions = {}): Promise<FlorenceAnswer> {
    const prompt = this.model.encodePrompt(imageToTextTasks.prompt(task, options.text));
    const settings = this.model.settings(options);
    const { pixels, width, height } = await prepareImage(image, 0, this.model.preprocessing, options);
    const [ids] = await this.model.generate([pixels], [prompt], settings);
    const generated = this.model.decode(ids);
    return { task, result: this.model.parse(task, generated, { width, height }), generated, width, height };
  }

  /** Frees the onnxruntime sessions. */
  async close(): Promise<void> {
    await this.model.release();
  }
}
