/**
 * What the COCO caption metrics take and give, as pycocoevalcap's scorers do: captions already
 * PTB-tokenised (lower-case tokens joined by single spaces), references per image id and one
 * candidate per image id; a corpus score and one score per image, in the references' id order.
 */

export type ImageId = number | string;

/** Image id -> tokenised captions (references: usually 5; candidates: exactly 1). */
export type TokenizedCaptions = Map<ImageId, string[]>;

export interface MetricResult {
  /** The corpus-level score pycocoevalcap reports. */
  score: number;
  /** One score per image, in the order of the references' ids. */
  scores: number[];
}
