// Run history (newest first) and what changed between two runs of an analyzer.
import { useState } from "preact/hooks";
import { gql } from "../api";
import { GUESS_BELOW, pct, scored } from "../labels";
import { ErrorNote } from "../layout";
import type { Run } from "./types";

type Scored = { name: string; confidence: number };
type Diff = {
  unchanged: boolean;
  pairs: { analyzer: string; fromRun: { id: string; modelVersion: string } | null; toRun: { id: string; modelVersion: string } | null }[];
  labels: { added: Scored[]; removed: Scored[]; changed: { name: string; before: number; after: number; delta: number }[] };
  faces: { added: { faceIndex: number }[]; removed: { faceIndex: number }[]; personChanged: { personBefore: { name: string } | null; personAfter: { name: string } | null }[] };
  text: { added: string[]; removed: string[] };
  moderation: { added: Scored[]; removed: Scored[] };
};

const DIFF = `query Diff($id: ID!, $from: ID) {
  asset(id: $id) { diff(fromRun: $from) {
    unchanged
    pairs { analyzer fromRun { id modelVersion } toRun { id modelVersion } }
    labels { added { name confidence } removed { name confidence } changed { name before after delta } }
    faces { added { faceIndex } removed { faceIndex } personChanged { personBefore { name } personAfter { name } } }
    text { added removed }
    moderation { added { name confidence } removed { name confidence } }
  } }
}`;

// A run's labels are the model's: under GUESS_BELOW they are its guesses, marked as the label list marks them.
function labelChange(c: { name: string; before: number; after: number }): string {
  const same = c.before < GUESS_BELOW === c.after < GUESS_BELOW;
  return `label ${scored(c.name, c.before)} → ${same ? pct(c.after) : scored(c.name, c.after)}`;
}

const when = (iso: string | null): string => (iso ? new Date(iso).toLocaleString() : "—");

function DiffView(props: { diff: Diff }) {
  const d = props.diff;
  if (d.unchanged) return <p>No change.</p>;
  const items: string[] = [
    ...d.labels.added.map((l) => `+ label ${scored(l.name, l.confidence)}`),
    ...d.labels.removed.map((l) => `− label ${scored(l.name, l.confidence)}`),
    ...d.labels.changed.map(labelChange),
    ...d.faces.added.map((f) => `+ face ${f.faceIndex + 1}`),
    ...d.faces.removed.map((f) => `− face ${f.faceIndex + 1}`),
    ...d.faces.personChanged.map((p) => `face named ${p.personBefore?.name ?? "(nobody)"} → ${p.personAfter?.name ?? "(nobody)"}`),
    ...d.text.added.map((t) => `+ text “${t}”`),
    ...d.text.removed.map((t) => `− text “${t}”`),
    ...d.moderation.added.map((m) => `+ moderation ${m.name}`),
    ...d.moderation.removed.map((m) => `− moderation ${m.name}`),
  ];
  return (
    <ul class="diff">
      {items.map((i, n) => (
        <li key={n}>{i}</li>
      ))}
    </ul>
  );
}

export function Runs(props: { assetId: string; runs: Run[] }) {
  const [diff, setDiff] = useState<{ title: string; diff: Diff } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const compare = async (run: Run | null) => {
    setError(null);
    try {
      const d = await gql<{ asset: { diff: Diff } | null }>(DIFF, { id: props.assetId, from: run?.id ?? null });
      if (d.asset) {
        const title = run ? `${run.analyzer}: ${run.modelVersion} run of ${when(run.finishedAt)} → current` : "Each analyzer's current run against the one before";
        setDiff({ title, diff: d.asset.diff });
      }
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section aria-labelledby="runs-h">
      <h2 id="runs-h">Recognition runs</h2>
      <div class="table-wrap runs">
        <table>
          <thead>
            <tr>
              <th scope="col">Analyzer</th>
              <th scope="col">Model</th>
              <th scope="col">Status</th>
              <th scope="col">Finished</th>
              <th scope="col">
                <span class="sr-only">Compare</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {props.runs.map((r) => (
              <tr key={r.id}>
                <td class="analyzer">{r.analyzer}</td>
                <td class="model">
                  {r.modelName} {r.modelVersion} <span class="muted">({r.provider})</span>
                </td>
                <td class="status" title={r.error ?? undefined}>
                  {r.status.toLowerCase()}
                </td>
                <td class="finished">{when(r.finishedAt)}</td>
                <td class="compare">
                  <button type="button" class="link" onClick={() => void compare(r)}>
                    Diff to current
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <button type="button" class="secondary" onClick={() => void compare(null)}>
        What changed in the latest runs
      </button>
      <ErrorNote error={error} />
      {diff && (
        <div class="card" role="region" aria-label="Run diff">
          <h3>{diff.title}</h3>
          <DiffView diff={diff.diff} />
        </div>
      )}
    </section>
  );
}
