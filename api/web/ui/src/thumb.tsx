// A thumbnail link to an asset page, used by every page that lists assets.
import type { ComponentChildren } from "preact";

export type Rendition = { kind: string; url: string; width: number; height: number };
export type AssetRef = { id: string; filename: string; renditions: Rendition[] };

export const THUMB_FIELDS = "id filename renditions { kind url width height }";

export const rendition = (a: AssetRef, kind: string): Rendition | undefined =>
  a.renditions.find((r) => r.kind === kind);

// A square tile crops a picture to fill it, unless the crop would hide much of it: a typed page, a panorama
// or a strip of film is shown whole (a 4:3 or 3:2 photo loses only its sides; a 2.7:1 memo lost its words).
const CROP_UP_TO = 1.6;

const shownWhole = (r: Rendition): boolean =>
  r.width > 0 && r.height > 0 && Math.max(r.width / r.height, r.height / r.width) > CROP_UP_TO;

export function Thumb(props: { asset: AssetRef; alt?: string; eager?: boolean; children?: ComponentChildren }) {
  const { asset } = props;
  const thumb = rendition(asset, "thumbnail");
  return (
    <a class={thumb && shownWhole(thumb) ? "thumb whole" : "thumb"} href={`/assets/${asset.id}`}>
      {thumb ? (
        <img
          src={thumb.url}
          width={thumb.width}
          height={thumb.height}
          alt={props.alt ?? asset.filename}
          loading={props.eager ? "eager" : "lazy"}
          decoding="async"
        />
      ) : (
        <span class="nothumb">{asset.filename}</span>
      )}
      {props.children}
    </a>
  );
}
