// A thumbnail link to an asset page, used by every page that lists assets.
import type { ComponentChildren } from "preact";

export type Rendition = { kind: string; url: string; width: number; height: number };
export type AssetRef = { id: string; filename: string; renditions: Rendition[] };

export const THUMB_FIELDS = "id filename renditions { kind url width height }";

export const rendition = (a: AssetRef, kind: string): Rendition | undefined =>
  a.renditions.find((r) => r.kind === kind);

export function Thumb(props: { asset: AssetRef; alt?: string; eager?: boolean; children?: ComponentChildren }) {
  const { asset } = props;
  const thumb = rendition(asset, "thumbnail");
  return (
    <a class="thumb" href={`/assets/${asset.id}`}>
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
