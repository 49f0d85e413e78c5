// Label helpers shared by the pages.

// 100 % only for what is 100 (a label human review confirmed): a face detector's 99.99 reads 99 %, not 100 %.
export const pct = (confidence: number): string =>
  `${confidence >= 100 ? 100 : Math.min(99, Math.round(confidence))}%`;
