// The search page: one query box, filters as chips, facets that refine, sort, a thumbnail grid with each
// hit's most specific label and "why this hit", keyset paging. The URL holds the whole search.
import { useEffect, useRef, useState } from "preact/hooks";
import { gql } from "../api";
import { pct, scored } from "../labels";
import { ErrorNote } from "../layout";
import type { PageProps } from "../main";
import { navigate, remember, remembered } from "../router";
import {
  badDates,
  chips,
  isDate,
  listsStage,
  nothingFound,
  readState,
  SORTS,
  type SearchState,
  searchArgs,
  stateUrl,
  STATUSES,
} from "../search-state";
import { THUMB_FIELDS, Thumb, type AssetRef } from "../thumb";

const PAGE = 60;
const MAX_RESTORED_PAGES = 20; // Back reloads at most this many pages of hits
const SETTLE_MS = 1500; // slider steps closer together than this are one change: one history entry
const MAX_QUERY = 500; // the API's limit on `query`
const SEARCH = `query Search($q: String, $filter: SearchFilter, $sort: SearchSort!, $after: String) {
  search(query: $q, filter: $filter, sort: $sort, first: ${PAGE}, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    facets { labels { value count } persons { value count } mediaTypes { value count } captureYears { value count } }
    edges { score meaning textMatch matches { label confidence via guess } segments(matching: true) { index startTimecode }
      node { ${THUMB_FIELDS} status error topLabels(first: 1) { name confidence guess } } }
  }
}`;

type Facet = { value: string; count: number };
type Edge = {
  score: number;
  meaning: number | null;
  textMatch: boolean; // the query's words were found in its filename, names or text (or label names)
  matches: { label: string; confidence: number; via: string; guess: boolean }[];
  segments: { index: number; startTimecode: string }[]; // a video hit's shots that matched
  node: AssetRef & { status: string; error: string | null; topLabels: { name: string; confidence: number; guess: boolean }[] };
};
type Result = {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  facets: { labels: Facet[]; persons: Facet[]; mediaTypes: Facet[]; captureYears: Facet[] };
  edges: Edge[];
};

type Loaded = { result: Result; edges: Edge[]; pages: number };

/** The search's first `pages` pages (Back brings the user to as many hits as they had scrolled through). */
async function firstPages(args: ReturnType<typeof searchArgs>, pages: number): Promise<Loaded> {
  let { search } = await gql<{ search: Result }>(SEARCH, { ...args, after: null });
  const edges = [...search.edges];
  let loaded = 1;
  for (; loaded < pages && search.pageInfo.hasNextPage; loaded++) {
    const next = await gql<{ search: Result }>(SEARCH, { ...args, after: search.pageInfo.endCursor });
    edges.push(...next.search.edges);
    search = { ...search, pageInfo: next.search.pageInfo }; // total and facets are the first page's
  }
  return { result: search, edges, pages: loaded };
}

/** How many pages and how far down the history entry the user comes back to had (Back, reload). */
function restoring(): { pages: number; scrollY: number | null } {
  const { pages, scrollY } = remembered();
  return {
    pages: typeof pages === "number" && pages >= 1 ? Math.min(pages, MAX_RESTORED_PAGES) : 1,
    scrollY: typeof scrollY === "number" ? scrollY : null,
  };
}

function why(edge: Edge): string {
  const parts = edge.matches.map((m) => {
    const said = scored(m.label, m.confidence, m.guess); // a model's guess: "Missile? 42%"
    return m.via.toLowerCase() === m.label.toLowerCase() ? said : `${said} (a kind of ${m.via})`;
  });
  if (edge.textMatch) parts.push("words found");
  if (edge.meaning !== null) parts.push(`meaning ${edge.meaning.toFixed(2)}`);
  if (!parts.length) return edge.node.error ? `failed: ${edge.node.error}` : "";
  return `matched ${parts.join(", ")}`;
}

/** The API's message for a reader: "Search failed: …", without the backticks around argument names. */
function plain(error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`Search failed: ${message.replaceAll("`", "")}`);
}

function Hit(props: { edge: Edge; eager: boolean }) {
  const { node } = props.edge;
  const top = node.topLabels[0] ?? null; // the specific thing, as the server orders labels
  const reason = why(props.edge);
  const alt = top ? `${node.filename}: ${top.name}${top.guess ? " (a guess)" : ""}` : node.filename;
  return (
    <li class="hit" data-asset-id={node.id}>
      <Thumb asset={node} alt={alt} eager={props.eager}>
        {/* a model's guess (under 50) reads as one: "Missile? 42%"; an indexed asset no model found anything
            on says so (its status alone read as if labels were still to come) */}
        <span class="badge">
          {top ? (
            // a long name is cut short, never its confidence (a phone's tile is narrow)
            <>
              <span class="badge-name">{`${top.name}${top.guess ? "?" : ""}`}</span> <span class="badge-pct">{pct(top.confidence)}</span>
            </>
          ) : node.status === "INDEXED" ? (
            "no labels"
          ) : (
            node.status.toLowerCase()
          )}
        </span>
        {reason && <span class="why">{reason}</span>}
      </Thumb>
      <span class="name" title={node.filename}>
        {node.filename}
      </span>
      {props.edge.segments.length > 0 && (
        <span class="shots-hit">
          {props.edge.segments.slice(0, 3).map((s) => (
            <a key={s.index} href={`/assets/${node.id}?shot=${s.index + 1}`} aria-label={`${node.filename}: play shot ${s.index + 1}`}>
              shot {s.index + 1} · {s.startTimecode}
            </a>
          ))}
          {props.edge.segments.length > 3 && <span class="muted">+{props.edge.segments.length - 3}</span>}
        </span>
      )}
    </li>
  );
}

function FacetList(props: { title: string; facets: Facet[]; pick: (value: string) => void; active: string[]; note?: string }) {
  if (!props.facets.length) return null;
  return (
    <section class="facet" aria-label={props.title}>
      <h2>{props.title}</h2>
      {props.note && <p class="facet-note">{props.note}</p>}
      <ul>
        {props.facets.slice(0, 12).map((f) => (
          <li key={f.value}>
            <button
              type="button"
              class="link"
              aria-pressed={props.active.includes(f.value)}
              onClick={() => props.pick(f.value)}
            >
              {f.value}
            </button>{" "}
            <span class="count">{f.count}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function AddFilter(props: { state: SearchState; go: (s: SearchState) => void; disabled: boolean }) {
  const [kind, setKind] = useState("label");
  const [value, setValue] = useState("");
  const s = props.state;
  const submit = (event: Event) => {
    event.preventDefault();
    const v = value.trim();
    if (!v) return;
    const next = { ...s };
    if (kind === "label") next.labels = [...s.labels.filter((x) => x !== v), v];
    else if (kind === "person") next.persons = [...s.persons.filter((x) => x !== v), v];
    else if (kind === "text") next.text = v;
    else if (kind === "type") next.types = [...s.types.filter((x) => x !== v), v];
    else if (kind === "from") next.from = v;
    else if (kind === "to") next.to = v;
    setValue("");
    props.go(next);
  };
  const dated = kind === "from" || kind === "to";
  return (
    <form class="addfilter" onSubmit={submit} aria-label="Add a filter">
      <label for="filter-kind" class="sr-only">
        Filter by
      </label>
      <select id="filter-kind" value={kind} disabled={props.disabled} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
        <option value="label">Label</option>
        <option value="person">Person</option>
        <option value="text">Text in image</option>
        <option value="type">Media type</option>
        <option value="from">Taken from</option>
        <option value="to">Taken until</option>
      </select>
      <label for="filter-value" class="sr-only">
        Filter value
      </label>
      <input
        id="filter-value"
        type={dated ? "date" : "text"}
        value={value}
        placeholder={kind === "type" ? "image/jpeg" : kind === "text" ? "words in the image" : "name"}
        onInput={(e) => setValue((e.target as HTMLInputElement).value)}
        disabled={props.disabled}
      />
      <button type="submit" class="secondary" disabled={props.disabled}>
        Add filter
      </button>
    </form>
  );
}

export function SearchPage(props: PageProps) {
  const state = readState(props.url);
  const key = stateUrl(state);
  const [result, setResult] = useState<Result | null>(null);
  const [shownKey, setShownKey] = useState<string | null>(null); // the search the grid shows
  const [edges, setEdges] = useState<Edge[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [query, setQuery] = useState(state.q);
  const [min, setMin] = useState(state.minConfidence);
  const sentinel = useRef<HTMLDivElement>(null);
  const inFlight = useRef<string | null>(null);
  const pagesLoaded = useRef(1);
  const scrollBackTo = useRef<number | null>(null);

  useEffect(() => {
    setQuery(state.q);
    setMin(state.minConfidence);
    setError(null);
    const args = searchArgs(state);
    const back = restoring();
    let current = true;
    firstPages(args, back.pages).then(
      (d) => {
        if (!current) return;
        pagesLoaded.current = d.pages;
        scrollBackTo.current = back.scrollY;
        setResult(d.result);
        setEdges(d.edges);
        setShownKey(key);
      },
      (e: unknown) => {
        if (!current) return;
        // the error stands in for this search's results: no "Searching…", no previous hits under it
        setError(e);
        setResult(null);
        setEdges([]);
        setShownKey(key);
      },
    );
    return () => {
      current = false;
    };
  }, [key]);

  // Every control searches for what the box says, submitted or not (a sort chosen after typing a word
  // sorts that word's hits; it dropped the word).
  const go = (next: SearchState) => navigate(stateUrl({ ...next, q: query }));
  // Each arrow-key step of the slider is a change: the steps of one movement replace its history entry,
  // so Back goes to before the movement, not through every step.
  const lastSlide = useRef(0);
  const slideTo = (minConfidence: number) => {
    const now = Date.now();
    const moving = remembered().slider === true && now - lastSlide.current < SETTLE_MS;
    lastSlide.current = now;
    navigate(stateUrl({ ...state, q: query, minConfidence }), moving, { slider: true });
  };
  const more = async () => {
    // A ref, not state: the scroll observer and the button may both ask before a re-render.
    if (!result?.pageInfo.hasNextPage || inFlight.current === result.pageInfo.endCursor) return;
    inFlight.current = result.pageInfo.endCursor;
    setLoadingMore(true);
    try {
      const d = await gql<{ search: Result }>(SEARCH, { ...searchArgs(state), after: result.pageInfo.endCursor });
      if (stateUrl(readState(new URL(location.href))) !== key) return; // the search changed meanwhile
      setResult({ ...result, pageInfo: d.search.pageInfo });
      setEdges((prev) => [...prev, ...d.search.edges]);
      pagesLoaded.current += 1;
      remember({ pages: pagesLoaded.current }); // Back to this search loads as many again
    } catch (e) {
      setError(e);
    } finally {
      setLoadingMore(false);
    }
  };

  // For bench/web.py: when the first page of results is on screen.
  useEffect(() => {
    if (shownKey !== null) performance.mark("mediasight:results");
  }, [shownKey === null]);

  // Back to this search: where the user was, once its hits are on the page again.
  useEffect(() => {
    const y = scrollBackTo.current;
    if (y === null || shownKey !== key) return;
    scrollBackTo.current = null;
    window.scrollTo(0, y);
    remember({ scrollY: null }); // used once: a reload after more scrolling does not jump back here
  }, [shownKey, edges]);

  // Infinite scroll: the next page loads when the end of the grid comes into view.
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !result?.pageInfo.hasNextPage) return;
    const seen = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && void more(), {
      rootMargin: "400px",
    });
    seen.observe(el);
    return () => seen.disconnect();
  });

  const active = chips(state);
  // A removed chip's button is gone: focus the chip that took its place (else the search box), not <body>.
  const removedChip = useRef<number | null>(null);
  useEffect(() => {
    const at = removedChip.current;
    if (at === null) return;
    removedChip.current = null;
    const left = document.querySelectorAll<HTMLButtonElement>(".chips button");
    (left[Math.min(at, left.length - 1)] ?? document.getElementById("q"))?.focus();
  }, [key]);
  const year = isDate(state.from) ? state.from.slice(0, 4) : ""; // the "Taken in" year pressed
  const stage = listsStage(state);
  return (
    <div class="search">
      <h1 class="sr-only">Search</h1>
      <form
        class="searchbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          go({ ...state, minConfidence: min });
        }}
      >
        <label for="q" class="sr-only">
          Search the archive
        </label>
        <input
          id="q"
          type="search"
          value={query}
          placeholder="Search labels, persons, filenames, meaning…"
          maxLength={MAX_QUERY}
          onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
          disabled={stage}
        />
        <button type="submit" disabled={stage}>
          Search
        </button>
      </form>

      <div class="controls">
        <div class="slider">
          <label for="min-confidence">Minimum label confidence</label>
          <input
            id="min-confidence"
            type="range"
            min={0}
            max={100}
            step={5}
            value={min}
            aria-valuetext={`${min}%`}
            disabled={stage}
            onInput={(e) => setMin(Number((e.target as HTMLInputElement).value))}
            onChange={(e) => slideTo(Number((e.target as HTMLInputElement).value))}
          />
          <output for="min-confidence">{min}%</output>
        </div>
        <label>
          Sort{" "}
          <select value={stage ? "CREATED" : state.sort} disabled={stage} onChange={(e) => go({ ...state, sort: (e.target as HTMLSelectElement).value as SearchState["sort"] })}>
            {SORTS.map((s) => (
              <option value={s.value} key={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status{" "}
          <select
            value={state.status}
            onChange={(e) => go({ ...state, status: (e.target as HTMLSelectElement).value as SearchState["status"] })}
          >
            <option value="">Searchable (indexed)</option>
            {STATUSES.filter((s) => s !== "INDEXED").map((s) => (
              <option value={s} key={s}>
                {s === "FAILED" ? "Failed" : `In progress: ${s.toLowerCase()}`}
              </option>
            ))}
          </select>
        </label>
        <label title="A model's guess is a label under 50 %: left out of label filters and facet counts unless asked for">
          <input type="checkbox" checked={state.guesses} disabled={stage} onChange={(e) => go({ ...state, guesses: (e.target as HTMLInputElement).checked })} />{" "}
          Labels: guesses too
        </label>
        <AddFilter state={state} go={go} disabled={stage} />
      </div>

      {active.length > 0 && (
        <ul class="chips" aria-label="Active filters">
          {active.map((c, i) => (
            <li key={c.key}>
              <span>{c.text}</span>
              <button
                type="button"
                aria-label={`Remove filter ${c.text}`}
                onClick={() => {
                  removedChip.current = i;
                  go(c.without);
                }}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      {stage && <p class="hint">Listing assets by pipeline stage (newest first); other filters do not apply.</p>}
      {badDates(state).map((m) => (
        <p key={m} class="hint" role="status">
          {m}
        </p>
      ))}
      <ErrorNote error={error && plain(error)} />

      <div class="results">
        <aside class="facets" aria-label="Refine">
          {result && (
            <>
              <FacetList title="Labels" note="Sure labels only: a model's guess is not counted" facets={result.facets.labels} active={state.labels} pick={(v) => go({ ...state, labels: state.labels.includes(v) ? state.labels.filter((x) => x !== v) : [...state.labels, v] })} />
              <FacetList title="Persons" facets={result.facets.persons} active={state.persons} pick={(v) => go({ ...state, persons: state.persons.includes(v) ? state.persons.filter((x) => x !== v) : [...state.persons, v] })} />
              <FacetList title="Media types" facets={result.facets.mediaTypes} active={state.types} pick={(v) => go({ ...state, types: state.types.includes(v) ? state.types.filter((x) => x !== v) : [...state.types, v] })} />
              <FacetList title="Taken in" facets={result.facets.captureYears} active={year ? [year] : []} pick={(y) => go(y === year ? { ...state, from: "", to: "" } : { ...state, from: `${y}-01-01`, to: `${y}-12-31` })} />
            </>
          )}
        </aside>
        <section class="hits" aria-label="Results" aria-busy={shownKey !== key}>
          <p class="total" aria-live="polite">
            {result && shownKey === key
              ? `${result.totalCount.toLocaleString()} ${result.totalCount === 1 ? "asset" : "assets"}`
              : shownKey === key
                ? ""
                : "Searching…"}
          </p>
          <ul class={shownKey === key ? "grid" : "grid stale"} data-ready={shownKey === key ? "1" : undefined}>
            {edges.map((e, i) => (
              <Hit edge={e} key={e.node.id} eager={i < 12} />
            ))}
          </ul>
          {result?.pageInfo.hasNextPage && (
            <div ref={sentinel} class="more">
              <button type="button" class="secondary" onClick={() => void more()} disabled={loadingMore}>
                {loadingMore ? "Loading…" : "Load more"}
              </button>
            </div>
          )}
          {result && !edges.length && <p class="hint">{nothingFound(state)}</p>}
        </section>
      </div>
    </div>
  );
}
