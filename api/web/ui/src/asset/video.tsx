// A video asset: the proxy in a <video> element (the poster shown until it plays) and its shots, each
// with its tile of the thumbnail strip, its timecodes and labels; choosing a shot plays from its start.
import { useEffect, useRef, useState } from "preact/hooks";
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

const shotsOf = (n: number): string => (n === 1 ? "1 shot" : `${n} shots`);

// `cue`: the URL's ?shot=, a shot's number (1 = the first) to cue the player at when it loads (a keyframe's
// "Play shot" link). The shot playing (or chosen) is marked as the current one.
export function VideoView(props: { asset: AssetData; cue?: string | null }) {
  const a = props.asset;
  const player = useRef<HTMLVideoElement>(null);
  const cued = props.cue ? a.segments.find((s) => String(s.index + 1) === props.cue?.trim()) : undefined;
  const [current, setCurrent] = useState<number | null>(cued?.index ?? null);
  useEffect(() => {
    const el = player.current;
    setCurrent(cued?.index ?? null);
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
  // The shot the player is in follows playing and seeking (its controls too).
  useEffect(() => {
    const el = player.current;
    if (!el) return;
    const follow = () => {
      const t = el.currentTime;
      const now = a.segments.find((s) => s.start <= t && t < s.end);
      if (now) setCurrent(now.index);
    };
    el.addEventListener("timeupdate", follow);
    return () => el.removeEventListener("timeupdate", follow);
  }, [a.id, a.segments]);
  const play = (shot: Shot) => {
    setCurrent(shot.index);
    const el = player.current;
    if (!el) return;
    const start = shot.start;
    el.currentTime = start + 0.001; // inside the shot, not on the previous one's last frame
    void el.play().catch(() => undefined); // autoplay may be refused: the shot is cued anyway
  };
  return (
    <figure class="video">
      {props.cue && !cued && (
        <p class="hint" role="status">
          There is no shot {props.cue}; this video has {shotsOf(a.segments.length)}. It plays from the start.
        </p>
      )}
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
          {v.dropFrame ? " drop-frame" : ""} · {shotsOf(v.shots)}
          {v.audio.length ? ` · ${v.audio.map((s) => s.codec).join(", ")} audio` : " · no audio"}
        </figcaption>
      )}
      {a.segments.length > 0 && (
        <section aria-labelledby="shots-h">
          <h2 id="shots-h">Shots</h2>
          <ol class="shots">
            {a.segments.map((s) => (
              <li key={s.index} aria-current={s.index === current ? "true" : undefined}>
                <button type="button" class="shot" onClick={() => play(s)} aria-label={`Play shot ${s.index + 1} from ${s.startTimecode}`}>
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
