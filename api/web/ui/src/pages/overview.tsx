// The archive overview: assets by stage (failed ones with their reasons), ingest and reprocess progress,
// the labels most present, the latest changes from the change feed.
import { useEffect, useState } from "preact/hooks";
import { gql } from "../api";
import { ErrorNote } from "../layout";
import type { PageProps } from "../main";
import { THUMB_FIELDS, Thumb, type AssetRef } from "../thumb";

const OVERVIEW = `query Overview {
  assetCounts { status count }
  failed: search(filter: { status: [FAILED] }, first: 10) { edges { node { id filename error createdAt } } }
  top: search(first: 1) { totalCount facets { labels { value count } } }
  reprocessBatches(first: 5) { id status total done failed progress error analyzers provider createdAt }
}`;

const CHANGES = `query Changes($first: Int!) {
  changes(since: "1970-01-01T00:00:00Z", first: $first, order: NEWEST_FIRST) {
    edges { changedAt assetId deleted node { ${THUMB_FIELDS} } }
  }
}`;

type Count = { status: string; count: number };
type Batch = { id: string; status: string; total: number; done: number; failed: number; progress: number; error: string | null; analyzers: string[]; provider: string | null; createdAt: string };
type Overview = {
  assetCounts: Count[];
  failed: { edges: { node: { id: string; filename: string; error: string | null; createdAt: string } }[] };
  top: { totalCount: number; facets: { labels: { value: string; count: number }[] } };
  reprocessBatches: Batch[];
};
type Change = { changedAt: string; assetId: string; deleted: boolean; node: AssetRef | null };
type ChangePage = { changes: { edges: Change[] } };

const LATEST = 12;

/** The newest changes: one page of the feed, newest first. */
async function latestChanges(): Promise<Change[]> {
  const d = await gql<ChangePage>(CHANGES, { first: LATEST });
  return d.changes.edges;
}

const IN_PIPELINE = ["STORED", "RENDITIONS", "ANALYZED"];
const UNFINISHED = ["PREPARING", "RUNNING"];
const REFRESH_MS = 2000;

function busy(d: Overview): boolean {
  const inPipeline = d.assetCounts.some((c) => IN_PIPELINE.includes(c.status) && c.count > 0);
  return inPipeline || d.reprocessBatches.some((b) => UNFINISHED.includes(b.status));
}

function Progress(props: { value: number; label: string }) {
  return (
    <div class="progress">
      <progress max={1} value={props.value} aria-label={props.label} /> <span>{Math.round(props.value * 100)}%</span>
    </div>
  );
}

export function OverviewPage(_: PageProps) {
  const [data, setData] = useState<Overview | null>(null);
  const [changes, setChanges] = useState<Change[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    // While anything is moving (assets in the pipeline, a batch not finished) the page follows it.
    let stopped = false;
    let timer: number | undefined;
    const load = () =>
      gql<Overview>(OVERVIEW).then((d) => {
        if (stopped) return;
        setData(d);
        if (busy(d)) timer = window.setTimeout(load, REFRESH_MS);
      }, setError);
    load();
    latestChanges().then(setChanges, setError);
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, []);
  if (error) return <ErrorNote error={error} />;
  if (!data) return <p class="loading">Loading…</p>;
  const count = (s: string) => data.assetCounts.find((c) => c.status === s)?.count ?? 0;
  const total = data.assetCounts.reduce((n, c) => n + c.count, 0);
  const pending = IN_PIPELINE.reduce((n, s) => n + count(s), 0);
  const maxLabel = Math.max(1, ...data.top.facets.labels.map((l) => l.count));
  return (
    <div class="overview">
      <h1>Archive overview</h1>
      <div class="cards">
        <section class="card" aria-labelledby="counts-h">
          <h2 id="counts-h">Assets by status</h2>
          <table class="counts">
            <tbody>
              {data.assetCounts.map((c) => (
                <tr key={c.status}>
                  <th scope="row">{c.status.toLowerCase()}</th>
                  <td class="count">
                    {c.count > 0 && c.status !== "INDEXED" ? <a href={`/?status=${c.status}`}>{c.count.toLocaleString()}</a> : c.count.toLocaleString()}
                  </td>
                </tr>
              ))}
              <tr>
                <th scope="row">all</th>
                <td class="count">{total.toLocaleString()}</td>
              </tr>
            </tbody>
          </table>
          <h3>Ingest</h3>
          {pending ? (
            <>
              <Progress value={total ? (total - pending) / total : 1} label="Ingest progress" />
              <p class="muted">{pending.toLocaleString()} assets still in the pipeline.</p>
            </>
          ) : (
            <p class="muted">Nothing waiting: every asset went through the pipeline.</p>
          )}
        </section>

        <section class="card" aria-labelledby="failed-h">
          <h2 id="failed-h">Failed</h2>
          {data.failed.edges.length ? (
            <>
              <ul class="failed">
                {data.failed.edges.map(({ node }) => (
                  <li key={node.id}>
                    <a href={`/assets/${node.id}`}>{node.filename}</a>: <span class="error">{node.error ?? "no reason recorded"}</span>
                  </li>
                ))}
              </ul>
              <a href="/?status=FAILED">All {count("FAILED").toLocaleString()} failed assets</a>
            </>
          ) : (
            <p class="muted">None.</p>
          )}
        </section>

        <section class="card" aria-labelledby="batches-h">
          <h2 id="batches-h">Reprocessing</h2>
          {data.reprocessBatches.length ? (
            <ul class="batches">
              {data.reprocessBatches.map((b) => (
                <li key={b.id}>
                  <div>
                    {b.analyzers.length ? b.analyzers.join(", ") : "all analyzers"} {b.provider ? `(${b.provider})` : ""} ·{" "}
                    {b.total === 1 ? "1 asset" : `${b.total.toLocaleString()} assets`} · {b.status.toLowerCase().replaceAll("_", " ")} ·{" "}
                    <span class="muted">{new Date(b.createdAt).toLocaleString()}</span>
                  </div>
                  <Progress value={b.progress} label={`Batch ${b.id} progress`} />
                  <div class="muted">
                    {b.done} of {b.total} done{b.failed ? `, ${b.failed} failed` : ""}
                    {b.error ? ` — ${b.error}` : ""}
                  </div>
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">No reprocessing batches yet.</p>
          )}
        </section>

        <section class="card" aria-labelledby="top-h">
          <h2 id="top-h">Labels most present</h2>
          <ul class="toplabels">
            {data.top.facets.labels.map((l) => (
              <li key={l.value}>
                <a href={`/?label=${encodeURIComponent(l.value)}`}>{l.value}</a>
                <span class="meter" aria-hidden="true">
                  <span style={{ width: `${(l.count / maxLabel) * 100}%` }} />
                </span>
                <span class="count">{l.count.toLocaleString()}</span>
              </li>
            ))}
          </ul>
        </section>
      </div>

      <section aria-labelledby="changes-h">
        <h2 id="changes-h">Latest changes</h2>
        {changes === null ? (
          <p class="loading">Loading…</p>
        ) : changes.length ? (
          <ul class="grid small changes">
            {changes.map((c) => (
              <li key={c.assetId + c.changedAt}>
                {c.node ? <Thumb asset={c.node} /> : <span class="thumb nothumb">deleted</span>}
                {/* a camera's names are one unbroken word (IMG_0037.jpg): it keeps to one line, the time goes below */}
                <span class="name">
                  <span class="file" title={c.node?.filename}>{c.deleted ? "deleted" : c.node?.filename}</span>
                  <time dateTime={c.changedAt}>{new Date(c.changedAt).toLocaleString()}</time>
                </span>
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">No changes yet.</p>
        )}
      </section>
    </div>
  );
}
