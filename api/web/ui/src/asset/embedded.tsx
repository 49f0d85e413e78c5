// "From the file": what the file said about itself (IPTC, XMP, EXIF, a sidecar), written by people and
// shown apart from what the recognizers found. Only what the file holds is listed; nothing is fetched.
import type { Box, Embedded } from "./types";
import { takenText } from "./taken";

const SOURCES: Record<string, string> = { exif: "EXIF", iptc: "IPTC", xmp: "XMP", sidecar: ".xmp sidecar" };

const percent = (n: number): string => `${Math.round(n * 100)} %`;
const where = (b: Box): string =>
  `${percent(b.width)} × ${percent(b.height)} at ${percent(b.left)} from the left, ${percent(b.top)} from the top`;

function gpsText(gps: NonNullable<Embedded["gps"]>): string {
  const at = `${gps.latitude.toFixed(5)}, ${gps.longitude.toFixed(5)}`;
  return gps.altitude === null ? at : `${at}, ${Math.round(gps.altitude)} m above sea level`;
}

type Row = [string, string | string[]]; // a list shows one item a line

function rows(m: Embedded): Row[] {
  const all: Row[] = [
    ["Title", m.title],
    ["Caption", m.caption],
    ["Keywords", m.keywords.join(", ")],
    ["Keyword paths", m.hierarchicalKeywords.map((path) => path.join(" › "))],
    [m.creators.length > 1 ? "Creators" : "Creator", m.creators.join(", ")],
    ["Credit", m.credit],
    ["Copyright", m.copyright],
    ["Usage terms", m.usageTerms],
    ["City", m.city],
    ["Country", m.country],
    ["GPS", m.gps ? gpsText(m.gps) : ""],
    ["Taken", m.capturedAsWritten || (m.capturedAt ? takenText(m.capturedAt) : "")],
    ["Persons shown", m.persons.join(", ")],
    ["Regions", m.regions.map((r) => `${r.name || "Unnamed"} (${[r.kind, r.source.toUpperCase()].filter(Boolean).join(", ")}): ${where(r.boundingBox)}`)],
  ];
  return all.filter(([, v]) => v.length > 0);
}

export function FromFile(props: { metadata: Embedded | null }) {
  const m = props.metadata;
  if (!m) return null; // not read (yet), or the embedded analyzer is off
  const shown = rows(m);
  return (
    <section aria-labelledby="from-file-h" class="from-file">
      <h2 id="from-file-h">From the file</h2>
      {m.sources.length > 0 && (
        <p class="muted provenance">Read from {m.sources.map((s) => SOURCES[s] ?? s).join(", ")}</p>
      )}
      {m.problem && (
        <p class="note" role="note">
          The file's metadata could not be read: {m.problem}
        </p>
      )}
      {shown.length > 0 ? (
        <dl class="details">
          {shown.map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{Array.isArray(v) ? v.map((line, i) => <span class="line" key={i}>{line}</span>) : v}</dd>
            </div>
          ))}
        </dl>
      ) : (
        !m.problem && <p class="muted">No metadata in the file.</p>
      )}
      {m.truncated && <p class="note" role="note">Some of it was too long and was cut short.</p>}
    </section>
  );
}
