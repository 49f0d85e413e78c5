// Label helpers shared by the pages.

export type LabelLike = { name: string; confidence: number; parents: string[] };

/** The most confident label that is no other label's parent: "Golden retriever", not "Animal". */
export function topSpecific<T extends LabelLike>(labels: T[]): T | null {
  const parents = new Set(labels.flatMap((l) => l.parents));
  const specific = labels.filter((l) => !parents.has(l.name));
  const pool = specific.length ? specific : labels;
  return pool.reduce<T | null>((best, l) => (!best || l.confidence > best.confidence ? l : best), null);
}

export const pct = (confidence: number): string => `${Math.round(confidence)}%`;
