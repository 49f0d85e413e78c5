"""Where to look again for faces too small for a cheap whole-image scan: the heads of detected people.

dlib's HOG face detector finds faces down to ≈ 80 / 2**upsample px, and each upsampling step costs four
times the pixels. So the whole image is scanned once without upsampling (faces ≥ ≈ 80 px) and only the
upper part of each person box the object detector found is scanned again, upsampled (faces ≥ ≈ 40 px):
a person's face is in the upper part of their box whether they stand (a face is ≈ 1/11 of the body's
height on ultralytics' bus.jpg), bend over a camera (≈ 1/8, scikit-image's cameraman) or are a half-length
portrait (≈ 1/5, the astronaut). A person whose head region already holds a face found by the first
scan, near the middle of the box's width, is not scanned again.

Pure pixel geometry, no dlib: rectangles are (left, top, right, bottom), right and bottom exclusive.
"""

from __future__ import annotations

from collections.abc import Sequence

from catalog.domain.model import BoundingBox

Rect = tuple[int, int, int, int]  # left, top, right, bottom (exclusive), in pixels

HEAD_ABOVE = 0.1  # the detector's box may cut the top of the head: look this share of its height above
HEAD_DEPTH = 0.5  # the head lies within this upper share of a person box (a bent back puts it low)
SIDE_PAD = 0.1  # share of the box's width added on each side (a head turned or leaning out)
MIN_PAD_PX = 16  # HOG needs context around a face: at least this many pixels around the box
ALIGN_PX = 8  # region corners on the HOG cell grid, so a region scans like the same part of the image
MIN_SIDE_PX = 24  # a region narrower or lower than this holds no face the upsampled scan can find
OWN_FACE_SPAN = 0.25  # a face whose centre is this close to the box's middle (share of its width) is its own


def to_pixels(box: BoundingBox, width: int, height: int) -> Rect:
    """A ratio box as the pixel rectangle it covers, clipped to the image."""
    left = min(max(round(box.left * width), 0), width)
    top = min(max(round(box.top * height), 0), height)
    right = min(max(round((box.left + box.width) * width), left), width)
    bottom = min(max(round((box.top + box.height) * height), top), height)
    return left, top, right, bottom


def head_region(person: Rect, width: int, height: int) -> Rect | None:
    """The part of the image where a person box's face is, on the HOG grid; None when too small."""
    left, top, right, bottom = person
    box_w, box_h = right - left, bottom - top
    pad_x = max(MIN_PAD_PX, round(SIDE_PAD * box_w))
    pad_y = max(MIN_PAD_PX, round(HEAD_ABOVE * box_h))
    x0 = max(0, left - pad_x) // ALIGN_PX * ALIGN_PX
    y0 = max(0, top - pad_y) // ALIGN_PX * ALIGN_PX
    x1 = min(width, right + pad_x)
    y1 = min(height, top + round(HEAD_DEPTH * box_h) + MIN_PAD_PX)
    if x1 - x0 < MIN_SIDE_PX or y1 - y0 < MIN_SIDE_PX:
        return None
    return x0, y0, x1, y1


def has_own_face(person: Rect, region: Rect, faces: Sequence[Rect]) -> bool:
    """Does one of `faces` sit in the person's head region, near the middle of the person's width?"""
    left, _, right, _ = person
    middle, span = (left + right) / 2, OWN_FACE_SPAN * max(1, right - left)
    for f in faces:
        cx, cy = (f[0] + f[2]) / 2, (f[1] + f[3]) / 2
        if region[0] <= cx < region[2] and region[1] <= cy < region[3] and abs(cx - middle) <= span:
            return True
    return False


def regions_to_rescan(
    people: Sequence[BoundingBox], faces: Sequence[Rect], width: int, height: int
) -> list[Rect]:
    """Head regions of the people whose face the whole-image scan did not find, largest person first."""
    boxes = sorted(
        (to_pixels(p, width, height) for p in people), key=lambda r: -(r[2] - r[0]) * (r[3] - r[1])
    )
    regions = []
    for person in boxes:
        region = head_region(person, width, height)
        if region is not None and region not in regions and not has_own_face(person, region, faces):
            regions.append(region)
    return regions


def same_face(a: Rect, b: Rect) -> bool:
    """Two detections of one face: either's centre lies inside the other."""
    return _centre_in(a, b) or _centre_in(b, a)


def _centre_in(a: Rect, b: Rect) -> bool:
    cx, cy = (a[0] + a[2]) / 2, (a[1] + a[3]) / 2
    return b[0] <= cx < b[2] and b[1] <= cy < b[3]
