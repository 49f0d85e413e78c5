"""`mediasight video FILE`: analyse one video on this machine and write what was found into a folder.

Shots (TransNetV2), keyframes, keyframe labels (EfficientNet), faces grouped per person (dlib), SMPTE
timecodes, and the exports and renditions: segments.json, shots.vtt, shots.srt, shots.edl, poster.jpg,
strip.jpg + strip.vtt and an H.264 proxy.mp4. Nothing is stored in the catalog: `mediasight ingest`
does that for videos too.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mediasight.settings import Settings
from mediasight.shared_cli import err


def video(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The video (MP4, MOV, MKV, WebM, MPEG-TS, ...).", exists=True)],
    out: Annotated[Path, typer.Option("--out", help="Folder for the results (created if missing).")] = Path(
        "video-analysis"
    ),
    labels: Annotated[bool, typer.Option(help="Label each shot's keyframes.")] = True,
    faces: Annotated[
        bool, typer.Option(help="Find faces in the keyframes and group them per person.")
    ] = True,
    proxy: Annotated[bool, typer.Option(help="Also transcode a ≤640×360 H.264 proxy.mp4.")] = True,
) -> None:
    """Find the shots of a video, label their keyframes, and write WebVTT, SRT, CMX 3600 EDL and JSON.

    Exit status 2 (with the reason) when the file is refused: not a video, truncated, too long, ...
    """
    from indexer.recognizers.local.faces import keyframe_faces
    from indexer.recognizers.local.labels import EfficientNetLabeler
    from indexer.recognizers.local.transnetv2 import TransNetV2
    from indexer.video.analysis import analyze_video
    from indexer.video.errors import VideoRejected
    from indexer.video.probe import probe_video
    from indexer.video.video_renditions import make_proxy, poster, thumbnail_strip
    from services import video_exports

    settings: Settings = ctx.obj
    try:
        info = probe_video(file)
    except VideoRejected as exc:
        err.print(f"[red]refused ({exc.code})[/]: {exc}")
        raise typer.Exit(2) from exc
    fps = float(info.rate.rate)
    err.print(
        f"{file.name}: {info.width}×{info.height} {info.codec}, {fps:.3f} fps"
        f"{' drop-frame' if info.drop_frame else ''}, {info.duration:.1f} s, "
        f"{len(info.audio)} audio stream(s)"
    )
    shot_model = TransNetV2(settings.model_dir, window=200)
    labeler = EfficientNetLabeler(settings.model_dir) if labels else None
    detector = keyframe_faces(settings.model_dir) if faces else None
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err) as progress:
        task = progress.add_task("frames", total=info.frames)
        try:
            result = analyze_video(
                file,
                info,
                shot_model,
                labeler,
                on_shot=lambda shot: progress.update(task, completed=shot.end),
                faces=detector,
            )
        except VideoRejected as exc:
            err.print(f"[red]refused ({exc.code})[/]: {exc}")
            raise typer.Exit(2) from exc
    elapsed = time.perf_counter() - started
    segments = result.segments
    (out / "segments.json").write_text(video_exports.to_json(segments, info))
    (out / "shots.vtt").write_text(video_exports.webvtt(segments))
    (out / "shots.srt").write_text(video_exports.srt(segments))
    (out / "shots.edl").write_text(video_exports.edl(segments, info, title=file.name))
    if result.poster is not None:
        (out / "poster.jpg").write_bytes(poster(result.poster.picture).data)
    if result.tiles:
        strip = thumbnail_strip(result.tiles)
        (out / "strip.jpg").write_bytes(strip.sprite.data)
        (out / "strip.vtt").write_text(strip.vtt)
    err.print(
        f"{len(segments)} shots, {result.people} person(s) in {elapsed:.1f} s "
        f"({info.duration / max(elapsed, 1e-6):.1f}× real time) → {out}/"
    )
    for s in segments[:20]:
        shown = s.shown_labels()[:4]  # specific first: "Egyptian Mau, Cat", not "Animal, Mammal"
        names = ", ".join([f"{lb.name} {lb.confidence:.0f}" for lb in shown] + list(s.faces))
        err.print(f"  {s.start_timecode} – {s.end_timecode}  {names}")
    if len(segments) > 20:
        err.print(f"  ... {len(segments) - 20} more in segments.json")
    if proxy:
        with err.status("transcoding proxy.mp4"):
            make_proxy(file, out / "proxy.mp4")
        err.print(f"proxy: {out / 'proxy.mp4'}")
