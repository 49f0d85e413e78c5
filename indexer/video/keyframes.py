"""Choosing keyframes within a shot by sharpness and difference (as Media2Cloud does with pHash +
Laplacian): the sharpest usable frame first, then the sharpest frames that look different from every
frame already chosen (dHash Hamming distance), up to a few per shot. Black, blank and blurred frames
lose to any usable one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from indexer.renditions import difference_hash

BLANK_MEAN = 18.0  # a frame darker than this on average is black (fades, leaders)
BLANK_STD = 6.0  # a frame this flat is blank (a card of one colour)


@dataclass(frozen=True)
class Candidate:
    index: int
    time: float
    picture: NDArray[np.uint8]  # RGB at analysis size
    sharpness: float  # variance of the Laplacian of the grey picture
    dhash: int
    blank: bool

    @classmethod
    def of(cls, index: int, time: float, picture: NDArray[np.uint8]) -> Candidate:
        grey = cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY)
        mean, std = cv2.meanStdDev(grey)
        sharpness = float(cv2.Laplacian(grey, cv2.CV_32F, ksize=1).var())
        dhash = int(difference_hash(Image.fromarray(grey)), 16)
        blank = float(mean[0, 0]) < BLANK_MEAN or float(std[0, 0]) < BLANK_STD
        return cls(index, time, picture, sharpness, dhash, blank)


def distance(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def choose(candidates: Sequence[Candidate], per_shot: int = 3, min_distance: int = 12) -> list[Candidate]:
    """Keyframes of one shot, in time order (empty only if there are no candidates)."""
    usable = [c for c in candidates if not c.blank] or list(candidates)
    chosen: list[Candidate] = []
    for c in sorted(usable, key=lambda c: (-c.sharpness, c.index)):
        if len(chosen) >= per_shot:
            break
        if all(distance(c.dhash, k.dhash) >= min_distance for k in chosen):
            chosen.append(c)
    return sorted(chosen, key=lambda c: c.index)


def thin(candidates: list[Candidate], keep: int, min_distance: int = 12) -> list[Candidate]:
    """Bound a long shot's candidates: drop near-duplicates of sharper frames first, then the blurriest."""
    pool = list(candidates)
    while len(pool) > keep:
        worst = None
        for i, c in enumerate(pool):
            if any(
                o.sharpness > c.sharpness and distance(o.dhash, c.dhash) < min_distance
                for o in pool
                if o is not c
            ):
                worst = i
                break
        if worst is None:
            worst = min(range(len(pool)), key=lambda i: (not pool[i].blank, pool[i].sharpness))
        del pool[worst]
    return pool


def best_keyframe(keyframes: Sequence[Candidate]) -> Candidate:
    """The shot's one picture (its strip tile, its FRAME child): the sharpest usable keyframe."""
    return max(keyframes, key=lambda k: (not k.blank, k.sharpness))


def poster_score(shot_seconds: float, c: Candidate) -> tuple[bool, float, int]:
    """Order of poster candidates: any usable frame beats a blank one; then sharp frames of long shots."""
    return (not c.blank, min(shot_seconds, 10.0) * float(np.log1p(c.sharpness)), -c.index)
