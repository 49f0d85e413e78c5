// The asset page: preview with overlays, labels (confidence, hierarchy, provenance), what the file says
// about itself, faces, text, properties, version tree, runs and diffs, similar pictures, download, and
// actions for write keys.
import { useEffect, useState } from "preact/hooks";
import { gql } from "../api";
import { Actions, NameFace } from "../asset/actions";
import { FromFile } from "../asset/embedded";
import { Preview } from "../asset/preview";
import { Runs } from "../asset/runs";
import { takenText } from "../asset/taken";
import { seconds, VideoView } from "../asset/video";
import { ASSET_QUERY, type AssetData, type Version } from "../asset/types";
import { pct } from "../labels";
import { ErrorNote } from "../layout";
import type { PageProps } from "../main";
import { pageTitle } from "../router";
import { Thumb } from "../thumb";
import { canWrite, useViewer } from "../viewer";

const bytes = (n: number): string =>
  n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KB` : `${(n / (1 << 20)).toFixed(1)} MB`;

type ShownLabel = { name: string; confidence: number; parents: string[]; guess: boolean };

// The asset's labels; a video's keyframe has no analysis of its own: its labels are what its shot's
// analysis found (the keyframe is one of the pictures that analysis looked at), said so.
function Labels(props: { asset: AssetData }) {
  const { labels, runs, shot, parent, video } = props.asset;
  // a video's labels are its shots' (and its poster's): the video run's model found them; a picture's are
  // the classifier's and the object detector's, merged (one "Dog" with the detector's boxes), and the text
  // recognizer's Document (a picture of mostly text)
  const ofText = labels.some((l) => l.name === "Document");
  const found = (video ? ["video"] : ["labels", "objects", ...(ofText ? ["text"] : [])])
    .map((analyzer) => runs.find((r) => r.analyzer === analyzer && r.status === "SUCCEEDED"))
    .filter((r) => r !== undefined);
  const latest = found.map((r) => r.finishedAt ?? "").sort().pop();
  const shown: ShownLabel[] = shot && parent ? shot.shownLabels : labels;
  return (
    <section aria-labelledby="labels-h">
      <h2 id="labels-h">Labels</h2>
      {shot && parent ? (
        <p class="muted provenance">
          Found in shot {shot.index + 1} by the analysis of <a href={`/assets/${parent.id}`}>{parent.filename}</a>
        </p>
      ) : (
        found.length > 0 && (
          <p class="muted provenance">
            {video && `In its ${video.shots} shot${video.shots === 1 ? "" : "s"}, `}
            {video ? "by" : "By"} {found.map((r) => `${r.modelName} ${r.modelVersion} (${r.provider})`).join(" and ")}
            {latest ? `, ${new Date(latest).toLocaleString()}` : ""}
          </p>
        )
      )}
      {shown.length ? (
        <ul class="labels">
          {shown.map((l) => (
            <li key={l.name} class={l.guess ? "guess" : undefined}>
              <span>
                {/* a guess matches a label filter only when asked for: the link asks, so this asset is among the hits */}
                <a href={`/?label=${encodeURIComponent(l.name)}${l.guess ? "&guesses=1" : ""}`}>{l.name}</a>
                {l.guess && (
                  <span class="guess-mark" title="A model's guess (under 50 %): exports, label filters and facet counts leave it out by default">
                    guess
                  </span>
                )}
              </span>
              <span class="meter" role="img" aria-label={`confidence ${pct(l.confidence)}`}>
                <span style={{ width: `${Math.round(l.confidence)}%` }} />
              </span>
              <span class="count">{pct(l.confidence)}</span>
              {l.parents.length > 0 && <span class="parents">{l.parents.join(" › ")}</span>}
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">{shot ? "The analysis found nothing it is sure of in this shot." : "No labels."}</p>
      )}
    </section>
  );
}

function Faces(props: { asset: AssetData; write: boolean; reload: () => void }) {
  const { faces } = props.asset;
  if (!faces.length) return null;
  return (
    <section aria-labelledby="faces-h">
      <h2 id="faces-h">Faces</h2>
      <ul class="faces">
        {faces.map((f) => (
          <li key={f.faceIndex}>
            <span>
              Face {f.faceIndex + 1} ({pct(f.confidence)}{f.time !== null && `, seen at ${f.time.toFixed(1)} s`}):{" "}
              {f.person ? <a href={`/?person=${encodeURIComponent(f.person.name)}`}>{f.person.name}</a> : <em>not named</em>}
            </span>
            {props.write && <NameFace assetId={props.asset.id} face={f} done={props.reload} />}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Versions(props: { asset: AssetData }) {
  const { parent, children, id } = props.asset;
  const siblings = (parent?.children ?? []).filter((c) => c.id !== id);
  if (!parent && !children.length) return null;
  const caption = (v: Version) =>
    v.frameTime !== null ? `frame ${v.frameTime.toFixed(1)} s` : v.relation ? v.relation.toLowerCase() : v.filename;
  const row = (title: string, list: Version[]) =>
    list.length > 0 && (
      <div class="versions">
        <h3>{title}</h3>
        <ul class="grid small">
          {list.map((v) => (
            <li key={v.id}>
              <Thumb asset={v} alt={`${v.filename}${v.relation ? ` (${v.relation.toLowerCase()})` : ""}`} />
              <span class="name">{caption(v)}</span>
            </li>
          ))}
        </ul>
      </div>
    );
  // a video's keyframes (made by its analysis) apart from the versions someone made
  const frames = (list: Version[]) => list.filter((v) => v.frameTime !== null);
  const versions = (list: Version[]) => list.filter((v) => v.frameTime === null);
  const keyframe = props.asset.frameTime !== null;
  return (
    <section aria-labelledby="versions-h">
      <h2 id="versions-h">Versions</h2>
      {row(keyframe ? "Video" : "Parent", parent ? [parent] : [])}
      {row("Other keyframes of the video", keyframe ? frames(siblings) : [])}
      {row("Siblings", keyframe ? versions(siblings) : siblings)}
      {row("Keyframes", frames(children))}
      {row("Children", versions(children))}
    </section>
  );
}

// A video's keyframe (a FRAME child) has no analysis of its own: say which video and shot it is from, who
// the shot's analysis saw, and where to watch the shot.
function FromVideo(props: { asset: AssetData }) {
  const { shot, parent, frameTime } = props.asset;
  if (!shot || !parent) return null;
  return (
    <section aria-labelledby="from-video-h">
      <h2 id="from-video-h">From the video</h2>
      <p>
        The keyframe of shot {shot.index + 1} ({shot.startTimecode} – {shot.endTimecode}) of{" "}
        <a href={`/assets/${parent.id}`}>{parent.filename}</a>
        {frameTime !== null && `, at ${seconds(frameTime)}`}. Its labels are what the video's analysis found in this
        shot; it has no analysis of its own.
      </p>
      {shot.faces.length > 0 && <p>In the shot: {shot.faces.join(", ")}.</p>}
      {shot.text && (
        <p>
          Read in the shot: <q>{shot.text.split("\n").join(" / ")}</q>
        </p>
      )}
      <p>
        <a class="button secondary" href={`/assets/${parent.id}?shot=${shot.index + 1}`}>
          Play shot {shot.index + 1}
        </a>
      </p>
    </section>
  );
}

/** "1950" when the date taken is the file's, written only to the year or month (capturedAt: its first day,
 * naive in the file's metadata, the same moment in UTC on the asset). */
function asWritten(a: AssetData): string {
  const m = a.embeddedMetadata;
  return m?.capturedAsWritten && m.capturedAt && a.capturedAt?.startsWith(m.capturedAt) ? m.capturedAsWritten : "";
}

function Details(props: { asset: AssetData }) {
  const a = props.asset;
  const p = a.properties;
  const rows: [string, string][] = [
    ["Type", a.mediaType],
    ["Size", `${a.width} × ${a.height}, ${bytes(a.sizeBytes)}`],
    ["Added", new Date(a.createdAt).toLocaleString()],
    ["Taken", a.capturedAt ? asWritten(a) || takenText(a.capturedAt) : "unknown"],
    ["Status", a.status.toLowerCase() + (a.error ? `: ${a.error}` : "")],
    ["SHA-256", a.sha256],
  ];
  if (p) rows.push(["Quality", `brightness ${p.brightness.toFixed(0)}, sharpness ${p.sharpness.toFixed(0)}, contrast ${p.contrast.toFixed(0)}, quality ${p.quality.toFixed(0)}`]);
  return (
    <section aria-labelledby="details-h">
      <h2 id="details-h">Properties</h2>
      <dl class="details">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      {p && p.dominantColors.length > 0 && (
        <ul class="swatches" aria-label="Dominant colors">
          {p.dominantColors.map((c) => (
            <li key={c.hex} title={`${c.hex} ${c.pixelPercent.toFixed(0)}%`} style={{ background: c.hex }}>
              <span class="sr-only">
                {c.hex} {c.pixelPercent.toFixed(0)}%
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function AssetPage(props: PageProps) {
  const id = props.params.id;
  const viewer = useViewer();
  const [asset, setAsset] = useState<AssetData | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let current = true;
    gql<{ asset: AssetData | null }>(ASSET_QUERY, { id }).then(
      (d) => current && setAsset(d.asset),
      (e: unknown) => current && setError(e),
    );
    return () => {
      current = false;
    };
  }, [id, version]);
  const reload = () => setVersion((v) => v + 1);
  useEffect(() => {
    if (asset) pageTitle(asset.filename);
  }, [asset]);

  if (error) return <ErrorNote error={error} />;
  if (asset === undefined) return <p class="loading">Loading…</p>;
  if (asset === null)
    return (
      <>
        <h1>No such asset</h1>
        <p>
          There is no asset {id} in your archive. <a href="/">Search</a>
        </p>
      </>
    );
  const write = canWrite(viewer);
  const keyframe = asset.shot && asset.parent; // a video's keyframe: the video it is from
  // a video's text is its shots' (each shot lists its lines); its textDetections are its poster's only
  const lines = asset.video ? [] : asset.textDetections.filter((t) => t.type === "LINE");
  return (
    <article class="asset">
      <header class="asset-head">
        <h1>{asset.filename}</h1>
        <a class="button secondary" href={asset.originalUrl} download={asset.filename} data-reload="1">
          Download original
        </a>
      </header>
      {/* Three parts in reading order: the picture, what is in it (labels, details, actions), the rest.
          Wide, the side column stands beside both others; narrow (a phone), they follow each other, so the
          labels come right after the picture, not after the run history. */}
      <div class="asset-body">
        <div class="asset-media">
          {asset.video ? <VideoView asset={asset} cue={props.url.searchParams.get("shot")} /> : <Preview asset={asset} />}
          <FromVideo asset={asset} />
        </div>
        <aside class="asset-side">
          <Labels asset={asset} />
          {asset.moderationLabels.length > 0 && (
            <section aria-labelledby="moderation-h">
              <h2 id="moderation-h">Moderation</h2>
              <ul>
                {asset.moderationLabels.map((m) => (
                  <li key={m.name}>
                    {m.name} {pct(m.confidence)}
                  </li>
                ))}
              </ul>
            </section>
          )}
          <Details asset={asset} />
          {write && <Actions asset={asset} done={reload} />}
        </aside>
        <div class="asset-main">
          <FromFile metadata={asset.embeddedMetadata} />
          <Faces asset={asset} write={write} reload={reload} />
          {lines.length > 0 && (
            <section aria-labelledby="text-h">
              <h2 id="text-h">Text in the image</h2>
              <ul class="text">
                {lines.map((t, i) => (
                  <li key={i}>
                    “{t.text}” <span class="muted">{pct(t.confidence)}</span>
                  </li>
                ))}
              </ul>
            </section>
          )}
          <Versions asset={asset} />
          {asset.similarAssets.length > 0 && (
            <section aria-labelledby="similar-h">
              <h2 id="similar-h">Similar pictures</h2>
              <ul class="grid small">
                {asset.similarAssets.map((s) => (
                  <li key={s.asset.id}>
                    <Thumb asset={s.asset} />
                    <span class="name">{s.distance} {s.distance === 1 ? "bit" : "bits"} apart</span>
                  </li>
                ))}
              </ul>
            </section>
          )}
          {!keyframe && <Runs assetId={asset.id} runs={asset.runs} />}
        </div>
      </div>
    </article>
  );
}
