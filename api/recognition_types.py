"""GraphQL types for what the analyzers saw, in Rekognition's shapes, built from domain objects."""

from __future__ import annotations

import enum

import strawberry

from catalog.domain import model
from catalog.domain.labels.detections import GUESS_BELOW
from catalog.domain.tone import tone_of


@strawberry.type(description="Ratios of the image's width and height, top-left origin (as Rekognition).")
class BoundingBox:
    left: float
    top: float
    width: float
    height: float

    @staticmethod
    def from_domain(box: model.BoundingBox) -> BoundingBox:
        return BoundingBox(left=box.left, top=box.top, width=box.width, height=box.height)


@strawberry.type
class Landmark:
    type: str
    x: float
    y: float


@strawberry.type(description="A named identity in your tenant's face collection.")
class Person:
    id: strawberry.ID
    name: str

    @staticmethod
    def from_domain(person: model.Person) -> Person:
        return Person(id=strawberry.ID(person.id), name=person.name)


@strawberry.type(description="A detected face; faceIndex is its position in Asset.faces.")
class Face:
    face_index: int
    bounding_box: BoundingBox
    confidence: float
    landmarks: list[Landmark]
    person: Person | None
    time: float | None = strawberry.field(
        default=None,
        description="A video's face (one per person its shots show: person-k is faceIndex k-1): the second "
        "of the keyframe it was seen best in, where its box is; null for an image's face.",
    )

    @staticmethod
    def from_domain(index: int, face: model.Face, person: model.Person | None) -> Face:
        return Face(
            face_index=index,
            bounding_box=BoundingBox.from_domain(face.box),
            confidence=face.confidence,
            landmarks=[Landmark(type=m.type, x=m.x, y=m.y) for m in face.landmarks],
            person=Person.from_domain(person) if person else None,
            time=face.time,
        )


@strawberry.enum
class TextType(enum.Enum):
    LINE = "LINE"
    WORD = "WORD"


@strawberry.type(description="Text found in the image: LINE detections and the WORDs they contain.")
class TextDetection:
    text: str
    confidence: float
    type: TextType
    bounding_box: BoundingBox
    parent_index: int | None = strawberry.field(description="For a WORD: the index of its LINE in this list.")

    @staticmethod
    def from_domain(t: model.TextDetection) -> TextDetection:
        return TextDetection(
            text=t.text,
            confidence=t.confidence,
            type=TextType(t.type),
            bounding_box=BoundingBox.from_domain(t.box),
            parent_index=t.parent_index,
        )


@strawberry.type(description="A moderation label in Rekognition's taxonomy (top level: parentName empty).")
class ModerationLabel:
    name: str
    confidence: float
    parent_name: str


@strawberry.type
class DominantColor:
    red: int
    green: int
    blue: int
    hex: str
    pixel_percent: float


@strawberry.type(description="Measured image qualities, 0–100 (as Rekognition's ImageProperties).")
class ImageProperties:
    brightness: float
    sharpness: float
    contrast: float
    quality: float
    dominant_colors: list[DominantColor]
    tone: str | None = strawberry.field(
        description="`monochrome` (black and white, greyscale, a sepia or other toned print) or `colour`: "
        'a search query that names it ("black and white photo of a ship", "sepia", "colour photo") '
        "finds only photos of that tone."
    )
    off_tone_percent: float | None = strawberry.field(
        description="Share of the pixels (%) with a colour of their own, not the picture's tone at their "
        "lightness (monochrome up to 0.75); null where not measured (older results, Rekognition's)."
    )
    median_chroma: float | None = strawberry.field(
        description="How strongly the picture is tinted (median CIELAB chroma; monochrome up to 40)."
    )

    @staticmethod
    def from_domain(p: model.ImageProperties) -> ImageProperties:
        return ImageProperties(
            brightness=p.brightness,
            sharpness=p.sharpness,
            contrast=p.contrast,
            quality=p.quality,
            tone=tone_of(p) or None,
            off_tone_percent=p.off_tone_percent,
            median_chroma=p.median_chroma,
            dominant_colors=[
                DominantColor(red=c.red, green=c.green, blue=c.blue, hex=c.hex, pixel_percent=c.pixel_percent)
                for c in p.dominant_colors
            ],
        )


@strawberry.type(description="One located occurrence of a label.")
class LabelInstance:
    bounding_box: BoundingBox
    confidence: float


@strawberry.enum(description="Who said it: a recognizer, or human review (a consensus of reviewers).")
class LabelSource(enum.Enum):
    MACHINE = "machine"
    HUMAN = "human"


@strawberry.type(description="A recognized label, in the shape of Rekognition's DetectLabels.")
class Label:
    name: str
    confidence: float = strawberry.field(
        description="0–100; 100 only for a label human review confirmed or named (machine labels stay below)."
    )
    parents: list[str] = strawberry.field(description="Hypernyms, nearest first (a breed: Dog, ..., Animal).")

    instances: list[LabelInstance] = strawberry.field(
        description="Where it is, most confident first: the object detector's boxes (Person: else faces "
        "and bodies); empty for a label no detector located."
    )
    source: LabelSource = strawberry.field(
        default=LabelSource.MACHINE, description="HUMAN: confirmed or named by review; see the `review` runs."
    )
    guess: bool = strawberry.field(
        default=False,
        description="A model's label under 50: what it may show, not what the model is sure of (an image "
        "no model is sure about keeps its best guesses). Pages mark it; exports leave it out unless a "
        "profile's minConfidence is lower.",
    )

    @staticmethod
    def from_domain(label: model.Label, source: LabelSource = LabelSource.MACHINE) -> Label:
        return Label(
            name=label.name,
            confidence=label.confidence,
            parents=list(label.parents),
            instances=[
                LabelInstance(bounding_box=BoundingBox.from_domain(i.box), confidence=i.confidence)
                for i in label.instances
            ],
            source=source,
            guess=source is LabelSource.MACHINE and label.confidence < GUESS_BELOW,
        )
