"""Local people: the Person boxes of the local object detector (objects.CenterNetDetector), as Rekognition's
people are the Person instances of its DetectLabels answer.

The detector runs once per image for objects, people and faces alike (AnalysisInput.shared), so people
cost nothing of their own. They used to come from OpenCV's HOG pedestrian detector (≈ 56 ms per preview
on top of the detector). Its window wants a whole upright body: on the previews of scikit-image's
astronaut, cameraman, coffee, cat and rocket and of the photos in packages (matplotlib's grace_hopper,
ultralytics' bus and zidane, insightface's t1 group of six) it found, at its default confidence 90, one
person (on bus.jpg); below that it fired on the rocket and the astronaut's helmet. The detector, at
confidence ≥ 50, finds the astronaut, the cameraman, Grace Hopper, three people on bus.jpg and two of
the t1 group (the others at 28–48; on zidane.jpg it is unsure of both men: 36 and less), and no one on
the coffee, cat or rocket (it does call the cat's preview a person, at 26: below the default).
"""

from __future__ import annotations

from collections.abc import Sequence

from catalog.domain.model import Instance
from indexer.recognizers.local.objects import DetectedObject

PERSON = "Person"  # the COCO class, as objects names it
DEFAULT_MIN_CONFIDENCE = 50.0  # as Rekognition's people


def people_from_objects(found: Sequence[DetectedObject], *, min_confidence: float) -> tuple[Instance, ...]:
    """The Person detections at least `min_confidence` sure, as instances, most confident first."""
    people = [Instance(box=o.box, confidence=o.confidence) for o in found if o.name == PERSON]
    people.sort(key=lambda p: (-p.confidence, p.box.left, p.box.top))
    return tuple(p for p in people if p.confidence >= min_confidence)
