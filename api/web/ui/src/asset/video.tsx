// A video asset: the proxy in a <video> element (the poster shown until it plays) and its shots, each
// with its tile of the thumbnail strip, its timecodes and labels; choosing a shot plays from its start.
import { useEffect, useRef } from "preact/hooks";
import { pct } from "../labels";
import { rendition } from "../thumb";
import type { AssetData, Shot } from "./types";

const TILE = { width: 160, height: 90, columns: 10 }; // the strip's layout (indexer/video/video_renditions.py)

export const seconds = (s: number): string => {
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(1).padStart(4, "0")}`;
};

// What a shot's analysis found: its most specific labels (VideoSegment.shownLabels: the classifier's and the
// objects the detector is sure of; links to searches), the persons seen and the text read.
export function ShotLabels(props: { shot: Shot }) {
  const s = props.shot;
  const labels = s.shownLabels;
  return (
    <>
      {labels.length || s.faces.length || s.text
        ? labels.slice(0, 4).map((l) => (
            <a key={l.name} href={`/?label=${encodeURIComponent(l.name)}`}>
              {l.name}
              {l.guess ? "?" : ""} <span class="muted">{pct(l.confidence)}</span>
            </a>
          ))
        : <span class="muted">nothing found</span>}
      {s.faces.length > 0 && <span class="muted">{s.faces.join(", ")}</span>}
      {s.text && <q class="muted">{s.text.split("\n").join(" / ")}</q>}
    </>
  );
}

// `cue`: a shot's number (1 = the first) to cue the player at when it loads (a keyframe's "Play shot" link).
export function VideoView(props: { asset: AssetData; cue?: number | null }) {
  const a = props.asset;
  const player = useRef<HTMLVideoElement>(null);
  const cued = props.cue ? a.segments.find((s) => s.index + 1 === props.cue) : undefined;
  useEffect(() => {
    const el = player.current;
    if (!el || !cued) return;
    const seek = () => {
      el.currentTime = cued.start + 0.001; // inside the shot, as choosing it does; no autoplay
    };
    if (el.readyState >= 1) seek();
    else el.addEventListener("loadedmetadata", seek, { once: true });
    return () => el.removeEventListener("loadedmetadata", seek);
  }, [a.id, cued?.start]);
  const proxy = rendition(a, "proxy");
  const poster = rendition(a, "preview");
  const strip = rendition(a, "strip");
  const v = a.video;
  const play = (start: number) => {
    const el = player.current;
    if (!el) return;
    el.currentTime = start + 0.001; // inside the shot, not on the previous one's last frame
    void el.play().catch(() => undefined); // autoplay may be refused: the shot is cued anyway
  };
  return (
    <figure class="video">
      {proxy ? (
        <video
          ref={player}
          controls
          preload="metadata"
          src={proxy.url}
          poster={poster?.url}
          width={proxy.width}
          height={proxy.height}
          aria-label={`${a.filename}: video`}
        />
      ) : poster ? (
        <img src={poster.url} width={poster.width} height={poster.height} alt={a.filename} />
      ) : (
        <p class="nothumb">No preview yet ({a.status.toLowerCase()}).</p>
      )}
      {v && (
        <figcaption class="muted">
          {seconds(v.duration)} · {v.width}×{v.height} {v.codec} · {v.framesPerSecond.toFixed(3).replace(/\.?0+$/, "")} fps
          {v.dropFrame ? " drop-frame" : ""} · {v.shots} shot{v.shots === 1 ? "" : "s"}
          {v.audio.length ? ` · ${v.audio.map((s) => s.codec).join(", ")} audio` : " · no audio"}
        </figcaption>
      )}
      {a.segments.length > 0 && (
        <section aria-labelledby="shots-h">
          <h2 id="shots-h">Shots</h2>
          <ol class="shots">
            {a.segments.map((s) => (
              <li key={s.index} aria-current={s === cued ? "true" : undefined}>
                <button type="button" class="shot" onClick={() => play(s.start)} aria-label={`Play shot ${s.index + 1} from ${s.startTimecode}`}>
                  {strip && (
                    <span
                      class="tile"
                      role="img"
                      aria-label={`shot ${s.index + 1}`}
                      style={{
                        backgroundImage: `url("${strip.url}")`,
                        backgroundPosition: `-${(s.index % TILE.columns) * TILE.width}px -${Math.floor(s.index / TILE.columns) * TILE.height}px`,
                      }}
                    />
                  )}
                  <span class="tc">
                    {s.startTimecode} – {s.endTimecode}
                  </span>
                </button>
                <span class="shot-labels">
                  <ShotLabels shot={s} />
                  {s.frame && (
                    <a class="frame-link" href={`/assets/${s.frame.id}`} aria-label={`Keyframe of shot ${s.index + 1}`}>
                      keyframe ›
                    </a>
                  )}
                </span>
              </li>
            ))}
          </ol>
        </section>
      )}
    </figure>
  );
}
