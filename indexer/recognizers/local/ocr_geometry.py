"""Where the local text recognizer's (local_text) lines and words lie in the image: word extents from the
recogniser's CTC alignment, line quadrilaterals as boxes, reading order. The functions are local_text's
internals (hence the leading underscores), tested on their own.

Word boxes: rapidocr's return_word_box gives each English word the confidence of one *character* (it zips
per-character scores with words), cuts words at wide CTC gaps rather than at spaces, and breaks every word
of a line that also holds CJK into single characters. Here a WORD is a whitespace-separated token of its
LINE (as in Rekognition); its extent comes from the CTC time steps at which the recogniser emitted the
token's first and last characters (the same alignment rapidocr and PaddleOCR use), widened by half the
line's median character pitch each side, then mapped back through the line's quadrilateral. Measured
against Pillow's glyph boxes: horizontal IoU 0.84 on average, lower for runs of very narrow or very wide
letters ("I", "WWW"). Without that alignment, a line is split in proportion to character counts.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from catalog.domain.model import BoundingBox


def _word_spans(
    text: str, tokens: Sequence[tuple[str, int, int]], info: object, line_score: float
) -> list[tuple[str, float, float, float]]:
    """(word, u0, u1, confidence 0–1) per token; u is the fraction of the line crop's reading length."""
    from rapidocr.ch_ppocr_rec.typings import WordInfo

    columns: list[int] = []
    char_confs: list[float] = []
    steps = 0.0
    if isinstance(info, WordInfo):
        columns = [int(c) for cols in info.word_cols for c in cols]
        char_confs = [float(c) for c in info.confs]
        steps = float(info.line_txt_len)
    visible = [k for k, ch in enumerate(text) if not ch.isspace()]
    if steps <= 0 or len(columns) != len(visible) or len(char_confs) != len(text):
        # no usable alignment: proportional to character counts, the line's own confidence for each word
        n = len(text)
        return [(word, start / n, end / n, line_score) for word, start, end in tokens]

    column = dict(zip(visible, columns, strict=True))
    gaps = [column[k + 1] - column[k] for _, start, end in tokens for k in range(start, end - 1)]
    pitch = statistics.median(gaps) if gaps else steps / len(text)
    spans: list[list[float]] = []
    for _, start, end in tokens:
        u0 = (column[start] + 0.5 - pitch / 2.0) / steps
        u1 = (column[end - 1] + 0.5 + pitch / 2.0) / steps
        spans.append([u0, u1])
    for left, right in itertools.pairwise(spans):  # neighbours must not overlap
        if left[1] > right[0]:
            left[1] = right[0] = (left[1] + right[0]) / 2.0
    return [
        (word, min(max(u0, 0.0), 1.0), min(max(u1, 0.0), 1.0), statistics.fmean(char_confs[start:end]))
        for (word, start, end), (u0, u1) in zip(tokens, spans, strict=True)
    ]


def _is_vertical(det_quad: NDArray[np.float32]) -> bool:
    """rapidocr's rule for turning a crop 90° before recognition (so its reading axis runs down the quad)."""
    p0, p1, p2, p3 = det_quad.astype(np.float64)
    crop_w = int(max(np.linalg.norm(p0 - p1), np.linalg.norm(p2 - p3)))
    crop_h = int(max(np.linalg.norm(p0 - p3), np.linalg.norm(p1 - p2)))
    return crop_w > 0 and crop_h / crop_w >= 1.5


def _span_box(
    quad: NDArray[np.float64], u0: float, u1: float, vertical: bool, width: int, height: int
) -> BoundingBox:
    p0, p1, p2, p3 = quad
    # a horizontal crop reads along the top/bottom edges; a vertical one was turned 90° counter-clockwise,
    # so it reads down the left/right edges
    (a0, a1), (b0, b1) = ((p0, p3), (p1, p2)) if vertical else ((p0, p1), (p3, p2))
    points = np.array([a0 + u0 * (a1 - a0), a0 + u1 * (a1 - a0), b0 + u0 * (b1 - b0), b0 + u1 * (b1 - b0)])
    return _quad_box(points, width, height)


def _quad_box(points: NDArray[np.float64], width: int, height: int) -> BoundingBox:
    left = min(max(float(points[:, 0].min()) / width, 0.0), 1.0)
    right = min(max(float(points[:, 0].max()) / width, 0.0), 1.0)
    top = min(max(float(points[:, 1].min()) / height, 0.0), 1.0)
    bottom = min(max(float(points[:, 1].max()) / height, 0.0), 1.0)
    return BoundingBox(left=left, top=top, width=right - left, height=bottom - top)


def _turn_box(box: BoundingBox) -> BoundingBox:
    """The box in the image turned 180°."""
    return BoundingBox(1.0 - box.left - box.width, 1.0 - box.top - box.height, box.width, box.height)


def _reading_order(boxes: Sequence[BoundingBox]) -> list[int]:
    """Indexes top to bottom, then left to right: a box whose vertical centre falls inside the band of the
    first (topmost) box of the current row belongs to that row."""
    rows: list[tuple[float, list[int]]] = []  # (bottom of the row's first box, members)
    for i in sorted(range(len(boxes)), key=lambda i: (boxes[i].top, boxes[i].left)):
        centre = boxes[i].top + boxes[i].height / 2.0
        if rows and centre <= rows[-1][0]:
            rows[-1][1].append(i)
        else:
            rows.append((boxes[i].top + boxes[i].height, [i]))
    return [i for _, members in rows for i in sorted(members, key=lambda i: boxes[i].left)]
