// The preview with toggleable overlays: face boxes (with the person's name), object/label instance boxes
// and text boxes. Boxes are ratios of the image (as Rekognition gives them), so they scale with it.
import { useState } from "preact/hooks";
import { scored } from "../labels";
import { rendition } from "../thumb";
import type { AssetData, Box } from "./types";

type Overlay = { kind: "face" | "object" | "text"; box: Box; caption: string };

function overlays(a: AssetData): Overlay[] {
  // A video's faces were seen in other frames than its poster: their boxes would point at nothing there.
  const faces: Overlay[] = a.faces.filter((f) => f.time === null).map((f) => ({
    kind: "face",
    box: f.boundingBox,
    caption: f.person ? f.person.name : `face ${f.faceIndex + 1}`,
  }));
  const objects: Overlay[] = a.labels.flatMap((l) =>
    // a guess is marked as the label lists and search badges mark it ("Dog? 30%")
    l.instances.map((i) => ({
      kind: "object" as const,
      box: i.boundingBox,
      caption: scored(l.name, i.confidence, l.guess),
    })),
  );
  const text: Overlay[] = a.textDetections
    .filter((t) => t.type === "LINE")
    .map((t) => ({ kind: "text", box: t.boundingBox, caption: t.text }));
  return [...objects, ...text, ...faces]; // faces last: on top of a Person box drawn around the same face
}

/** A caption starts at its box's nearer-to-centre side and is no wider than the picture beside it (a
 * percentage of the box), so a long one ends in an ellipsis inside the picture rather than past it. */
function captionPlace(box: Box): Record<string, string> {
  const fromLeft = box.left + box.width / 2 <= 0.5;
  const room = fromLeft ? 1 - box.left : box.left + box.width; // picture widths, from the anchored side
  const maxWidth = `min(16em, ${((room / Math.max(box.width, 0.001)) * 100).toFixed(1)}%)`;
  return fromLeft ? { left: "0", maxWidth } : { right: "0", left: "auto", maxWidth };
}

const KINDS = [
  { kind: "face", label: "Faces" },
  { kind: "object", label: "Objects" },
  { kind: "text", label: "Text" },
] as const;

export function Preview(props: { asset: AssetData }) {
  const a = props.asset;
  const [shown, setShown] = useState<Record<string, boolean>>({ face: true, object: true, text: true });
  const preview = rendition(a, "preview") ?? rendition(a, "thumbnail");
  const all = overlays(a);
  // what the picture shows, for its text alternative: a video's keyframe has its shot's labels
  const named = a.labels.length ? a.labels : a.shot ? a.shot.shownLabels : [];
  return (
    <figure class="preview">
      <div class="stage">
        {preview ? (
          <img
            src={preview.url}
            width={preview.width}
            height={preview.height}
            alt={`${a.filename}${named.length ? `: ${named.slice(0, 3).map((l) => l.name).join(", ")}` : ""}`}
          />
        ) : (
          <p class="nothumb">No preview yet ({a.status.toLowerCase()}).</p>
        )}
        {preview &&
          all
            .filter((o) => shown[o.kind])
            .map((o, i) => (
              <div
                key={i}
                class={`box ${o.kind}`}
                data-kind={o.kind}
                style={{
                  left: `${o.box.left * 100}%`,
                  top: `${o.box.top * 100}%`,
                  width: `${o.box.width * 100}%`,
                  height: `${o.box.height * 100}%`,
                }}
              >
                <span style={captionPlace(o.box)}>
                  {o.caption}
                </span>
              </div>
            ))}
      </div>
      {all.length > 0 && ( // nothing to draw (a keyframe, a picture nothing was located on): no toggles
        <figcaption>
          <fieldset class="toggles">
            <legend class="sr-only">Show on the picture</legend>
            {KINDS.map(({ kind, label }) => {
              const count = all.filter((o) => o.kind === kind).length;
              return (
                <label key={kind}>
                  <input
                    type="checkbox"
                    checked={shown[kind]}
                    disabled={!count}
                    onChange={(e) => setShown({ ...shown, [kind]: (e.target as HTMLInputElement).checked })}
                  />{" "}
                  {label} ({count})
                </label>
              );
            })}
          </fieldset>
        </figcaption>
      )}
    </figure>
  );
}
