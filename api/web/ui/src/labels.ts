// Label helpers shared by the pages.

export const pct = (confidence: number): string => `${Math.round(confidence)}%`;
