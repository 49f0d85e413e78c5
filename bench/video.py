"""Video benchmark: analysed video seconds per wall second against decode-only, on the same file.

Makes (once, cached in --dir) an H.264 clip from real photos at the chosen size and rate, with a shot
every 2-6 s (holds, pans, dissolves), then times:
  decode    every frame decoded by PyAV (frame threads), nothing converted: the floor
  analysis  probe + one decoding pass + TransNetV2 shots + keyframes + EfficientNet labels per keyframe
Figures are "x real time" (video seconds per wall second), and per CPU second (decode_cpu_x, analysis_cpu_x:
what one dedicated core would do, the figure that survives a loaded machine); the load is printed beside
them. Last line:
    video seconds=S size=WxH fps=R shots=N keyframes=K decode_x=D decode_cpu_x=DC analysis_x=A
    analysis_cpu_x=AC load=L
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av

import mediasight  # noqa: F401 - first: limits BLAS threads before numpy loads
from bench.clips import PHOTOS, Shot, make_clip
from indexer.recognizers.local.labels import EfficientNetLabeler
from indexer.recognizers.local.transnetv2 import TransNetV2
from indexer.video.analysis import AnalysisOptions, analyze_video
from indexer.video.probe import probe_video


def shot_list(seconds: float, rate: Fraction) -> list[Shot]:
    lengths = [2.0, 4.0, 3.0, 6.0, 2.5, 5.0]
    shots: list[Shot] = []
    total, i = 0.0, 0
    while total < seconds:
        length = min(lengths[i % len(lengths)], seconds - total)
        frames = max(1, round(length * float(rate)))
        shots.append(
            Shot(PHOTOS[i % len(PHOTOS)], frames, pan=i % 3 == 1, dissolve_in=12 if i % 5 == 4 else 0)
        )
        total += frames / float(rate)
        i += 1
    return shots


def decode_only(path: Path) -> int:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(1 for _ in container.decode(stream))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the clip (default 30)")
    parser.add_argument("--size", default="1920x1080", help="frame size WxH (default 1920x1080)")
    parser.add_argument("--fps", default="25", help="frame rate, e.g. 25 or 30000/1001 (default 25)")
    parser.add_argument("--window", type=int, default=200, help="TransNetV2 window (100 = the reference's)")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads per model (default 1)")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "mediasight-bench-video")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    rate = Fraction(args.fps)
    args.dir.mkdir(parents=True, exist_ok=True)
    clip = args.dir / f"clip-{width}x{height}-{float(rate):.3f}-{args.seconds:g}s.mp4"
    if not clip.exists():
        t0 = time.perf_counter()
        partial = clip.with_suffix(".part.mp4")
        make_clip(
            partial, shot_list(args.seconds, rate), rate=rate, size=(width, height), gop=max(1, round(rate))
        )
        partial.rename(clip)
        print(f"made {clip.name} in {time.perf_counter() - t0:.1f} s")

    t0, c0 = time.perf_counter(), time.process_time()
    frames = decode_only(clip)
    decode_s, decode_cpu = time.perf_counter() - t0, time.process_time() - c0
    info = probe_video(clip)
    print(f"decode: {frames} frames in {decode_s:.2f} s ({info.duration / decode_s:.1f}x real time)")

    models = args.dir / "models"
    shot_model = TransNetV2(models, threads=args.threads, window=args.window)
    labeler = EfficientNetLabeler(models, intra_op_num_threads=args.threads)
    labeler.load()
    shot_model.load()

    t0, c0 = time.perf_counter(), time.process_time()
    info = probe_video(clip)
    result = analyze_video(clip, info, shot_model, labeler, AnalysisOptions())
    analysis_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    keyframes = sum(len(s.keyframes) for s in result.segments)
    for s in result.segments[:8]:
        names = ", ".join(f"{lb.name} {lb.confidence:.0f}" for lb in s.labels[:3])
        print(f"  {s.start_timecode}-{s.end_timecode}  {len(s.keyframes)} keyframes  {names}")
    load = os.getloadavg()[0]
    print(
        f"video seconds={info.duration:.1f} size={width}x{height} fps={float(rate):g} "
        f"shots={len(result.segments)} keyframes={keyframes} decode_x={info.duration / decode_s:.2f} "
        f"decode_cpu_x={info.duration / max(decode_cpu, 1e-6):.2f} "
        f"analysis_x={info.duration / analysis_s:.2f} "
        f"analysis_cpu_x={info.duration / max(cpu_s, 1e-6):.2f} load={load:.1f}"
    )


if __name__ == "__main__":
    main()
