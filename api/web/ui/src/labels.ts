// Label helpers shared by the pages.

// 100 % only for what is 100 (a label human review confirmed): a face detector's 99.99 reads 99 %, not 100 %.
export const pct = (confidence: number): string =>
  `${confidence >= 100 ? 100 : Math.min(99, Math.round(confidence))}%`;

// A model's label under this is a guess (the API's Label.guess; catalog/domain/labels/detections.py).
export const GUESS_BELOW = 50;

/** A label as the pages show it: a model's guess with a question mark, "Dining Table? 34%", "Cup 82%". */
export const scored = (name: string, confidence: number, guess = confidence < GUESS_BELOW): string =>
  `${name}${guess ? "?" : ""} ${pct(confidence)}`;
