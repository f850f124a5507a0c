/** Generation entry point: beam search when num_beams > 1, else greedy. */
import { beamSearch } from "./beam-search.js";
import type { StepDecoder } from "./decoder.js";
import { greedySearch } from "./greedy.js";
import type { GenerationSettings } from "./settings.js";

export function generate(decoder: StepDecoder, items: number, settings: GenerationSettings): Promise<number[][]> {
  return settings.numBeams > 1 ? beamSearch(decoder, items, settings) : greedySearch(decoder, items, settings);
}
