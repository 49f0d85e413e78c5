// Custom concepts: the list (/concepts) and one concept (/concepts/:name) with its versions and metrics, its
// examples, and the highest-scoring non-examples to confirm or reject ("is this also X?").
import { useEffect, useRef, useState } from "preact/hooks";
import { gql } from "../api";
import { ErrorNote } from "../layout";
import type { PageProps } from "../main";
import { pageTitle } from "../router";
import { THUMB_FIELDS, Thumb, type AssetRef } from "../thumb";
import { canWrite, useViewer } from "../viewer";

type Metrics = { precision: number; recall: number; f1: number; threshold: number; positives: number; negatives: number; folds: number; trainMs: number };
type Version = { number: number; status: string; createdAt: string; finishedAt: string | null; error: string; metrics: Metrics | null; scoresReady?: boolean };
type Example = { assetId: string; positive: boolean; source: string; asset: AssetRef | null };
type Score = { assetId: string; confidence: number; asset: AssetRef | null };
type Concept = { name: string; analyzer: string; parents: string[]; synonyms: string[]; activeVersion: number | null; versions: Version[] };
type Detail = Concept & { examples: Example[]; suggestions: Score[] };

const LIST = `query Concepts { concepts { name analyzer parents synonyms activeVersion
  versions { number status createdAt finishedAt error metrics { precision recall f1 threshold positives negatives folds trainMs } } } }`;

const DETAIL = `query Concept($name: String!) { concept(name: $name) {
  name analyzer parents synonyms activeVersion
  versions { number status createdAt finishedAt error scoresReady metrics { precision recall f1 threshold positives negatives folds trainMs } }
  examples { assetId positive source asset { ${THUMB_FIELDS} } }
  suggestions(first: 18) { assetId confidence asset { ${THUMB_FIELDS} } }
} }`;

const ADD = `mutation Add($name: String!, $pos: [ID!], $neg: [ID!]) {
  addConceptExamples(name: $name, positives: $pos, negatives: $neg) { error { code message } } }`;
const REMOVE = `mutation Remove($name: String!, $ids: [ID!]!) {
  removeConceptExamples(name: $name, assetIds: $ids) { removed error { code message } } }`;
const TRAIN = `mutation Train($name: String!) { trainConcept(name: $name) { version { number } error { code message } } }`;
const ACTIVATE = `mutation Activate($name: String!, $version: Int) {
  activateConcept(name: $name, version: $version) { batch { id total } error { code message } } }`;

type Problem = { code: string; message: string } | null;

const pct = (x: number) => `${Math.round(x * 100)}%`;

// Why there are no suggestions: the version they come from (the active one, else the newest ready) is not
// trained, or its scores over the archive are still being prepared by a worker.
function suggestionsNote(concept: Concept): string {
  const from = concept.versions.find((v) => v.status === "READY" && (concept.activeVersion === null || v.number === concept.activeVersion));
  if (!from) return "Nothing to suggest until a version is trained.";
  if (!from.scoresReady) return `Version ${from.number}'s scores over the archive are being prepared in the background: reload in a moment.`;
  return "Nothing to suggest: no other asset scores near the concept's threshold.";
}

// The head of a table of versions' metrics: its first columns (a concept, or a version and its status), the
// metrics, and an actions column when asked.
function MetricsHead(props: { first: string[]; actions?: boolean }) {
  return (
    <thead>
      <tr>
        {props.first.map((h) => (
          <th scope="col" key={h}>
            {h}
          </th>
        ))}
        <th scope="col">Precision</th>
        <th scope="col">Recall</th>
        <th scope="col">F1</th>
        <th scope="col">Threshold</th>
        <th scope="col">Pos / neg</th>
        {props.actions && <th scope="col" />}
      </tr>
    </thead>
  );
}

function MetricsCells(props: { m: Metrics | null }) {
  const { m } = props;
  if (!m) return <td colSpan={5} class="muted">no metrics</td>;
  return (
    <>
      <td class="count">{pct(m.precision)}</td>
      <td class="count">{pct(m.recall)}</td>
      <td class="count">{m.f1.toFixed(2)}</td>
      <td class="count">{pct(m.threshold)}</td>
      <td class="count">
        {m.positives} / {m.negatives}
      </td>
    </>
  );
}

export function ConceptsPage(_: PageProps) {
  const [concepts, setConcepts] = useState<Concept[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    gql<{ concepts: Concept[] }>(LIST).then((d) => setConcepts(d.concepts), setError);
  }, []);
  if (error) return <ErrorNote error={error} />;
  if (!concepts) return <p class="loading">Loading…</p>;
  return (
    <div class="concepts">
      <h1>Concepts</h1>
      <p class="muted">
        Categories of your own, learned from example assets. Define one with <code>createConcept</code> or{" "}
        <code>mediasight concept create</code>, then train and activate it here.
      </p>
      {concepts.length ? (
        <div class="table-wrap">
          <table class="versions">
            <MetricsHead first={["Concept", "Active"]} />
            <tbody>
              {concepts.map((c) => {
                const shown = c.versions.find((v) => v.number === c.activeVersion) ?? c.versions[0];
                return (
                  <tr key={c.name}>
                    <th scope="row">
                      <a href={`/concepts/${encodeURIComponent(c.name)}`}>{c.name}</a>
                      {c.parents.length ? <span class="muted"> ({c.parents.join(", ")})</span> : null}
                    </th>
                    <td>{c.activeVersion ? `v${c.activeVersion}` : "–"}</td>
                    <MetricsCells m={shown?.metrics ?? null} />
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : (
        <p>No concepts yet.</p>
      )}
    </div>
  );
}

// Where an example came from, when it is not an archive asset named by hand: an upload that exists only to
// teach the concept (a training example, hidden from search), or a reviewer's answer.
const SOURCES: Record<string, { text: string; title: string }> = {
  UPLOAD: { text: "uploaded", title: "Uploaded only to teach this concept: not part of the archive's searches" },
  REVIEW: { text: "reviewed", title: "A reviewer's answer" },
};

function SourceBadge(props: { source: string }) {
  const shown = SOURCES[props.source];
  if (!shown) return null;
  return (
    <span class={`badge source-${props.source.toLowerCase()}`} title={shown.title}>
      {shown.text}
    </span>
  );
}

function Examples(props: { title: string; examples: Example[]; onRemove?: (id: string) => void; busy: boolean }) {
  return (
    <section aria-label={props.title}>
      <h3>
        {props.title} <span class="count">({props.examples.length})</span>
      </h3>
      <ul class="grid small examples">
        {props.examples.map((e) => (
          <li key={e.assetId} class="hit">
            {e.asset ? (
              <Thumb asset={e.asset} eager>
                <SourceBadge source={e.source} />
              </Thumb>
            ) : (
              <span class="nothumb">{e.assetId}</span>
            )}
            {props.onRemove && (
              <button type="button" class="link" disabled={props.busy} onClick={() => props.onRemove?.(e.assetId)} aria-label={`Forget example ${e.asset?.filename ?? e.assetId}`}>
                forget
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function ConceptPage(props: PageProps) {
  const name = props.params.name ?? "";
  const viewer = useViewer();
  const [concept, setConcept] = useState<Detail | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState<string>("");
  const [busy, setBusy] = useState(false);
  const load = () => gql<{ concept: Detail | null }>(DETAIL, { name }).then((d) => setConcept(d.concept), setError);
  useEffect(() => {
    void load();
  }, [name]);
  useEffect(() => {
    if (concept) pageTitle(`${concept.name} · Concept`); // once loaded: after the frame's own title
  }, [concept?.name]);
  // A version in training finishes in the background (a worker, seconds): look again until it has.
  const training = concept?.versions.some((v) => v.status === "TRAINING") ?? false;
  useEffect(() => {
    if (!training) return;
    const timer = setTimeout(() => void load(), 1000);
    return () => clearTimeout(timer);
  }, [training, concept]);

  async function act(work: () => Promise<Problem>, done: string) {
    setBusy(true);
    try {
      const problem = await work();
      setNote(problem ? problem.message : done);
      await load();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  // The answered suggestion leaves the list: focus goes to the one that takes its place (else the heading),
  // not to <body>, so a keyboard can go on answering.
  const suggestions = useRef<HTMLUListElement>(null);
  const refocus = useRef<number | null>(null);
  useEffect(() => {
    const at = refocus.current;
    if (at === null || busy) return;
    refocus.current = null;
    const items = suggestions.current?.querySelectorAll<HTMLButtonElement>("li .buttons button:first-child") ?? [];
    (items[Math.min(at, items.length - 1)] ?? document.getElementById("suggest-h"))?.focus();
  }, [concept, busy]);
  const mark = (id: string, positive: boolean) => {
    refocus.current = concept?.suggestions.findIndex((s) => s.assetId === id) ?? null;
    return act(
      async () => (await gql<{ addConceptExamples: { error: Problem } }>(ADD, positive ? { name, pos: [id] } : { name, neg: [id] })).addConceptExamples.error,
      positive ? "Added as a positive example: train a new version to learn from it." : "Added as a negative example: train a new version to learn from it.",
    );
  };
  const forget = (id: string) =>
    act(async () => (await gql<{ removeConceptExamples: { error: Problem } }>(REMOVE, { name, ids: [id] })).removeConceptExamples.error, "Example forgotten.");
  const train = () =>
    act(async () => {
      const r = (await gql<{ trainConcept: { version: { number: number } | null; error: Problem } }>(TRAIN, { name })).trainConcept;
      return r.error ?? (r.version ? null : null);
    }, "Training queued: a worker trains it in seconds; its metrics appear here when it is done.");
  const activate = (version: number) =>
    act(async () => {
      const r = (await gql<{ activateConcept: { batch: { id: string; total: number } | null; error: Problem } }>(ACTIVATE, { name, version })).activateConcept;
      return r.error;
    }, `Version ${version} active: a reprocess batch runs it over the archive (see the overview).`);

  if (error) return <ErrorNote error={error} />;
  if (concept === undefined) return <p class="loading">Loading…</p>;
  if (concept === null) return <h1>No concept named “{name}”</h1>;
  const write = canWrite(viewer);
  const positives = concept.examples.filter((e) => e.positive);
  const negatives = concept.examples.filter((e) => !e.positive);
  return (
    <div class="concept">
      <div class="asset-head">
        <h1>{concept.name}</h1>
        {write && (
          <div class="buttons">
            <button type="button" disabled={busy} onClick={() => void train()}>
              Train a new version
            </button>
          </div>
        )}
      </div>
      <p class="muted">
        Analyzer <code>{concept.analyzer}</code>
        {concept.parents.length ? <> · parents {concept.parents.join(", ")}</> : null}
        {concept.synonyms.length ? <> · also found as {concept.synonyms.join(", ")}</> : null}
        {" · "}
        <a href={`/?label=${encodeURIComponent(concept.name)}`}>its matches</a>
      </p>
      {note && (
        <p class="hint" role="status">
          {note}
        </p>
      )}
      <section class="card" aria-labelledby="versions-h">
        <h2 id="versions-h">Versions</h2>
        <div class="table-wrap">
          <table class="versions">
            <MetricsHead first={["Version", "Status"]} actions />
            <tbody>
              {concept.versions.map((v) => (
                <tr key={v.number} aria-current={v.number === concept.activeVersion ? "true" : undefined}>
                  <th scope="row">
                    v{v.number}
                    {v.number === concept.activeVersion ? " (active)" : ""}
                  </th>
                  <td title={v.error || undefined}>{v.status.toLowerCase()}</td>
                  <MetricsCells m={v.metrics} />
                  <td>
                    {write && v.status === "READY" && v.number !== concept.activeVersion && (
                      <button type="button" class="link" disabled={busy} onClick={() => void activate(v.number)}>
                        activate
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {!concept.versions.length && <p class="muted">Not trained yet.</p>}
      </section>
      <section class="card" aria-labelledby="suggest-h">
        <h2 id="suggest-h" tabIndex={-1}>Is this also {concept.name}?</h2>
        <p class="muted">The assets the concept scores highest that are not examples yet: yes adds one as a positive example, no as a negative; the next training learns from them.</p>
        {concept.suggestions.length ? (
          <ul class="grid suggestions" ref={suggestions}>
            {concept.suggestions.map((s) => (
              <li key={s.assetId} class="hit">
                {s.asset ? (
                  <Thumb asset={s.asset} eager>
                    <span class="badge">{Math.round(s.confidence)}%</span>
                  </Thumb>
                ) : (
                  <span class="nothumb">{s.assetId}</span>
                )}
                {write && (
                  <span class="buttons">
                    <button type="button" disabled={busy} onClick={() => void mark(s.assetId, true)} aria-label={`Yes, ${s.asset?.filename ?? s.assetId} is ${concept.name}`} title="Yes: add it as a positive example">
                      + yes
                    </button>
                    <button type="button" class="secondary" disabled={busy} onClick={() => void mark(s.assetId, false)} aria-label={`No, ${s.asset?.filename ?? s.assetId} is not ${concept.name}`} title="No: add it as a negative example">
                      − no
                    </button>
                  </span>
                )}
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">{suggestionsNote(concept)}</p>
        )}
      </section>
      <section class="card" aria-labelledby="examples-h">
        <h2 id="examples-h">Examples</h2>
        <Examples title="Positive" examples={positives} onRemove={write ? (id) => void forget(id) : undefined} busy={busy} />
        <Examples title="Negative" examples={negatives} onRemove={write ? (id) => void forget(id) : undefined} busy={busy} />
      </section>
    </div>
  );
}
