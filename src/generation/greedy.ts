/**
 * Greedy decoding with transformers' semantics: the most likely token after the logits
 * processors (the first on ties), until EOS or the length limit. Items that produced EOS leave
 * the batch.
 */
import type { StepDecoder } from "./decoder.js";
import { maxLength, processScores } from "./logits-processors.js";
import type { GenerationSettings } from "./settings.js";

export async function greedySearch(decoder: StepDecoder, items: number, s: GenerationSettings): Promise<number[][]> {
  const sequences = Array.from({ length: items }, () => [s.decoderStartTokenId]);
  let active = sequences.map((_, item) => item);
  // At the first step rows are items; later, row i continues row i of the previous step's survivors.
  let parents = [...active];
  const limit = maxLength(s);
  while (active.length > 0) {
    const logits = await decoder.step(
      active.map((item) => sequences[item].at(-1)!),
      parents,
    );
    const V = decoder.vocabSize;
    const survivors: number[] = [];
    const survivorRows: number[] = [];
    active.forEach((item, row) => {
      const scores = logits.slice(row * V, (row + 1) * V);
      processScores(scores, sequences[item], s);
      let best = 0;
      for (let t = 1; t < V; t++) if (scores[t] > scores[best]) best = t;
      sequences[item].push(best);
      if (best !== s.eosTokenId && sequences[item].length < limit) {
        survivors.push(item);
        survivorRows.push(row);
      }
    });
    active = survivors;
    parents = survivorRows;
  }
  return sequences;
}
