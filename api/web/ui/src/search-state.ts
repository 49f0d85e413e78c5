// The search page's state lives in the URL (bookmark it, share it, go back): parse and build both ways.

export type Sort = "RELEVANCE" | "CONFIDENCE" | "CREATED" | "CAPTURED";
export const SORTS: { value: Sort; label: string }[] = [
  { value: "RELEVANCE", label: "Best match" },
  { value: "CONFIDENCE", label: "Confidence" },
  { value: "CREATED", label: "Newest added" },
  { value: "CAPTURED", label: "Newest taken" },
];
export const STATUSES = ["INDEXED", "FAILED", "STORED", "RENDITIONS", "ANALYZED"] as const;
export type Status = (typeof STATUSES)[number];

export type SearchState = {
  q: string;
  labels: string[]; // every one (a facet refines): the first ranks the hits, the others narrow them
  minConfidence: number;
  guesses: boolean; // label filters match a model's guesses (under 50 %) too
  persons: string[];
  text: string;
  types: string[];
  from: string; // captured on or after (yyyy-mm-dd)
  to: string; // captured before the end of (yyyy-mm-dd)
  status: Status | "";
  sort: Sort;
};

export function readState(url: URL): SearchState {
  const p = url.searchParams;
  const min = Number(p.get("min") ?? "0");
  const sort = p.get("sort") as Sort | null;
  const status = p.get("status") as Status | null;
  return {
    q: p.get("q") ?? "",
    labels: p.getAll("label"),
    minConfidence: Number.isFinite(min) ? Math.min(100, Math.max(0, min)) : 0,
    guesses: p.get("guesses") === "1",
    persons: p.getAll("person"),
    text: p.get("text") ?? "",
    types: p.getAll("type"),
    from: p.get("from") ?? "",
    to: p.get("to") ?? "",
    status: status && STATUSES.includes(status) ? status : "",
    sort: sort && SORTS.some((s) => s.value === sort) ? sort : "RELEVANCE",
  };
}

export function stateUrl(s: SearchState): string {
  const p = new URLSearchParams();
  if (s.q) p.set("q", s.q);
  s.labels.forEach((v) => p.append("label", v));
  if (s.minConfidence > 0) p.set("min", String(s.minConfidence));
  if (s.guesses) p.set("guesses", "1");
  s.persons.forEach((v) => p.append("person", v));
  if (s.text) p.set("text", s.text);
  s.types.forEach((v) => p.append("type", v));
  if (isDate(s.from)) p.set("from", s.from); // an ignored date (badDates) is left out of the next search
  if (isDate(s.to)) p.set("to", s.to);
  if (s.status) p.set("status", s.status);
  if (s.sort !== "RELEVANCE") p.set("sort", s.sort);
  const query = p.toString();
  return query ? `/?${query}` : "/";
}

/** A calendar date as yyyy-mm-dd (2024-13-45 is not one). */
export function isDate(v: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) return false;
  const d = new Date(`${v}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(v);
}

/** What is wrong with the dates a URL carries (they are left out of the search). */
export function badDates(s: SearchState): string[] {
  return [s.from, s.to].filter((v) => v && !isDate(v)).map((v) => `'${v}' is not a date (YYYY-MM-DD), so it is ignored.`);
}

/** Listing a pipeline stage other than INDEXED reads the catalog, which takes no other filter. */
export const listsStage = (s: SearchState): boolean => s.status !== "" && s.status !== "INDEXED";

/** What an empty result says: a stage's own words (none failed is good news, not a search to widen). */
export function nothingFound(s: SearchState): string {
  if (s.status === "FAILED") return "No failed assets.";
  if (listsStage(s)) return `No assets in progress: ${s.status.toLowerCase()}.`;
  return "Nothing found. Try fewer filters or another word.";
}

/** The API's `search` arguments for this state. */
export function searchArgs(s: SearchState): { q: string | null; filter: Record<string, unknown>; sort: Sort } {
  if (listsStage(s)) return { q: null, filter: { status: [s.status] }, sort: "RELEVANCE" };
  const filter: Record<string, unknown> = {};
  // Each label chip narrows (a label facet counted N refines to N hits): the first ranks by its confidence
  // and explains each hit (`matches`), every other one must hold too.
  if (s.labels.length) filter.labels = s.labels.slice(0, 1);
  if (s.labels.length > 1) filter.allLabels = s.labels.slice(1);
  if (s.minConfidence > 0) filter.minConfidence = s.minConfidence;
  if (s.guesses) filter.includeGuesses = true;
  if (s.persons.length) filter.persons = s.persons;
  if (s.text) filter.text = s.text;
  if (s.types.length) filter.mediaTypes = s.types;
  if (isDate(s.from)) filter.capturedAfter = `${s.from}T00:00:00Z`;
  if (isDate(s.to)) filter.capturedBefore = `${s.to}T23:59:59.999Z`;
  return { q: s.q.trim() || null, filter, sort: s.sort };
}

export type Chip = { key: string; text: string; without: SearchState };

/** One removable chip per active filter. */
export function chips(s: SearchState): Chip[] {
  const out: Chip[] = [];
  const without = (patch: Partial<SearchState>) => ({ ...s, ...patch });
  for (const l of s.labels) out.push({ key: `l:${l}`, text: `label: ${l}`, without: without({ labels: s.labels.filter((x) => x !== l) }) });
  if (s.minConfidence > 0) out.push({ key: "min", text: `confidence ≥ ${s.minConfidence}%`, without: without({ minConfidence: 0 }) });
  if (s.guesses) out.push({ key: "guesses", text: "labels: guesses too", without: without({ guesses: false }) });
  for (const p of s.persons) out.push({ key: `p:${p}`, text: `person: ${p}`, without: without({ persons: s.persons.filter((x) => x !== p) }) });
  if (s.text) out.push({ key: "text", text: `text: “${s.text}”`, without: without({ text: "" }) });
  for (const t of s.types) out.push({ key: `t:${t}`, text: `type: ${t}`, without: without({ types: s.types.filter((x) => x !== t) }) });
  if (isDate(s.from)) out.push({ key: "from", text: `taken from ${s.from}`, without: without({ from: "" }) });
  if (isDate(s.to)) out.push({ key: "to", text: `taken until ${s.to}`, without: without({ to: "" }) });
  if (s.status) out.push({ key: "status", text: `status: ${s.status.toLowerCase()}`, without: without({ status: "" }) });
  return out;
}
