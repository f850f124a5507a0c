/** What generation needs of a model: one decoder step at a time over a changing set of rows. */

export interface StepDecoder {
  readonly vocabSize: number;
  /**
   * Runs one decoder step and returns the last position's logits, rows x vocabSize.
   * At the first step, `parents[i]` is the batch item row i belongs to; after that it is the
   * row of the previous step whose cached state row i continues (beams are reordered and
   * finished items leave, so rows come and go).
   */
  step(tokens: number[], parents: number[]): Promise<Float32Array>;
}
