"""An asset's current metadata, merged from its analyzers' latest results (pure functions, no I/O)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from catalog.domain.concepts.model import concept_of
from catalog.domain.embedded import EMBEDDED, EmbeddedMetadata
from catalog.domain.labels.description import colour_words, counted
from catalog.domain.labels.detections import GUESS_BELOW, name_detections
from catalog.domain.labels.documents import document_labels
from catalog.domain.labels.glossary import glossed
from catalog.domain.labels.order import merge_labels, specific_first, specific_labels
from catalog.domain.labels.sureness import sure_and_tentative
from catalog.domain.model import Asset, ImageProperties, Instance, Label, RecognitionResult
from catalog.domain.ports import IndexDocument
from catalog.domain.review import human_labels
from catalog.domain.tone import tone_of
from catalog.domain.video.findings import VIDEO, VideoFindings

PERSON = "Person"
# ImageNet has no person class: faces and bodies make the label, and "Human" reaches it as a parent.
PERSON_PARENTS = ("Human",)
CLASSIFIER, DETECTOR, READER = "labels", "objects", "text"  # the analyzers whose findings labels merge
MEANING_MIN_CONFIDENCE = 50.0  # labels below it are not described in the meaning text (see metadata_text)
GLOSSED_LABELS = 2  # the meaning says what the first this many specific labels are (label_glosses)
# The text in the image the meaning describes: its first this many words. A page's hundreds of words
# drowned what it is (a Document) in what it says, which the text search finds word for word anyway.
MEANING_TEXT_WORDS = 40
_SPLIT = re.compile(r"[_\-.\s]+")

Results = Mapping[str, RecognitionResult]


def person_instances(results: Results) -> tuple[Instance, ...]:
    faces = results["faces"].findings.faces if "faces" in results else ()
    people = results["people"].findings.people if "people" in results else ()
    return (*(Instance(f.box, f.confidence) for f in faces), *people)


def machine_labels(results: Results) -> tuple[Label, ...]:
    """The classifier's, the object detector's and the custom concepts' labels merged (one per name, with
    the detector's boxes), a video's segment labels too (each at its highest confidence), plus Person from
    faces and bodies and Document from a picture of mostly text (labels.documents); the specific first
    (labels.order). A lone detection the classifier names better takes the classifier's name
    (labels.detections: the cheetah's box is a Cheetah, not a Dog). The classifier's tentative labels count
    only when nothing else is sure (the astronaut the detector sees as a Person is no tentative Bobsleigh)."""
    concepts = sorted(name for name in results if concept_of(name))
    video = video_findings(results)
    sure, tentative, bar = _classifier_labels(results)
    detected = results[DETECTOR].findings.labels if DETECTOR in results else ()
    others = [
        name_detections(sure, detected, tentative),
        *(results[a].findings.labels for a in concepts),
        video.labels() if video is not None else (),
        # a video is no Document, even where its poster is a title card
        document_labels(results[READER].findings.text) if READER in results and video is None else (),
    ]
    instances = person_instances(results)
    confident = [lb.confidence for group in others for lb in group] + [i.confidence for i in instances]
    if tentative and any(c >= bar for c in confident):
        tentative = ()
    labels = merge_labels([sure, tentative, *others])
    if instances:
        confidence = round(max(i.confidence for i in instances), 2)
        at = next((i for i, lb in enumerate(labels) if lb.name == PERSON), None)
        if at is None:
            labels.append(Label(PERSON, confidence, PERSON_PARENTS, instances))
        else:  # a face makes Person sure even where the detector was not; its boxes are the detector's
            found = labels[at]
            labels[at] = dataclasses.replace(
                found,
                confidence=max(found.confidence, confidence),
                instances=found.instances or instances,
            )
    labels = _parents_as_sure(labels)
    return tuple(specific_first(labels, detector_guesses(results, labels)))


def _parents_as_sure(labels: list[Label]) -> list[Label]:
    """`labels` with each parent at least as confident as the surest label beneath it: a parent is the sum
    of what is beneath it, so a face's Person 98 is a Human 98, not the detector's "Human? 43" beside it,
    and the detector's Cup 95 makes the classifier's "Tableware? 47" a Tableware 95."""
    surest: dict[str, float] = {}
    for lb in labels:
        for parent in lb.parents:
            key = parent.casefold()
            surest[key] = max(surest.get(key, 0.0), lb.confidence)
    return [
        dataclasses.replace(lb, confidence=surest[key])
        if (key := lb.name.casefold()) in surest and lb.confidence < surest[key]
        else lb
        for lb in labels
    ]


def detector_guesses(results: Results, labels: Sequence[Label]) -> set[str]:
    """The names among `labels` that are the object detector's guesses: under GUESS_BELOW, and found by no
    other analyzer (the classifier, a custom concept, a video's shots, faces and bodies for Person).
    labels.order.specific_first places them after what the classifier is surer of."""
    if DETECTOR not in results:
        return set()
    detected = {lb.name.casefold() for lb in results[DETECTOR].findings.labels}
    said = {lb.name.casefold() for a, r in results.items() if a != DETECTOR for lb in r.findings.labels}
    video = video_findings(results)
    said |= {lb.name.casefold() for lb in video.labels()} if video is not None else set()
    if person_instances(results):
        said.add(PERSON.casefold())
    return {
        lb.name
        for lb in labels
        if lb.confidence < GUESS_BELOW and lb.name.casefold() in detected and lb.name.casefold() not in said
    }


def _classifier_labels(results: Results) -> tuple[tuple[Label, ...], tuple[Label, ...], float]:
    """The labels run's labels as (sure, tentative) and the confidence that makes a label sure: those
    under the run's min_confidence are tentative (kept by an image no label reached it on)."""
    run = results.get(CLASSIFIER)
    return ((), (), 0.0) if run is None else sure_and_tentative(run)


def tentative_labels(results: Results) -> tuple[Label, ...]:
    """The classifier's tentative labels where they count (nothing else is sure), as current_labels has
    them (a reviewer's rejection holds)."""
    names = {lb.name.casefold() for lb in _classifier_labels(results)[1]}
    return tuple(lb for lb in current_labels(results) if lb.name.casefold() in names)


def current_labels(results: Results) -> tuple[Label, ...]:
    """The machine's labels under the human verdicts (review.human_labels), the specific first. A confirmed
    label's parents are as sure as it is (a reviewer's Bird makes the classifier's "Animal? 37" sure), under
    the 100 that marks a person's own verdict."""
    verdicts = human_labels.human_verdicts(results)
    merged = [
        lb
        if lb.confidence <= human_labels.MACHINE_CEILING or human_labels.is_human(lb, verdicts)
        else dataclasses.replace(lb, confidence=human_labels.MACHINE_CEILING)
        for lb in _parents_as_sure(human_labels.merge(machine_labels(results), verdicts))
    ]
    return tuple(specific_first(merged, detector_guesses(results, merged)))


def text_lines(results: Results) -> list[str]:
    """OCR lines of the image (of a video: its poster's, then each line read in its shots)."""
    found = results[READER].findings.text if READER in results else ()
    lines = [t.text for t in found if t.type == "LINE"]
    video = video_findings(results)
    return [*lines, *(line for line in video.lines() if line not in lines)] if video is not None else lines


def embedded_of(results: Results) -> EmbeddedMetadata | None:
    """What came with the file (the "embedded" run), if it was read."""
    return results[EMBEDDED].findings.embedded if EMBEDDED in results else None


def searchable_lines(results: Results) -> list[str]:
    """Words a text search finds the asset by: the image's text (OCR lines), then what the file said about
    itself (title, caption, keywords, persons, places, credits)."""
    embedded = embedded_of(results)
    words = embedded.words() if embedded is not None else ""
    return [*text_lines(results), *([words] if words else [])]


def shown_persons(results: Results, face_names: Sequence[str]) -> tuple[str, ...]:
    """Names of the persons the picture shows: its named faces, then those the file names."""
    embedded = embedded_of(results)
    return tuple(dict.fromkeys([*face_names, *(embedded.persons if embedded else ())]))


def metadata_text(
    asset: Asset,
    labels: Sequence[Label],
    lines: Sequence[str],
    persons: Sequence[str],
    properties: ImageProperties | None = None,
    tentative: Sequence[Label] = (),
) -> str:
    """What the semantic embedding describes: labels with parents (described_labels), what the detector
    counted ("two people"), colours ("black and white photo"), persons, text in the image (its first
    MEANING_TEXT_WORDS words), filename words. What the labels are (label_glosses) is embedded apart and
    added to it (glossary.with_glosses)."""
    names: dict[str, None] = {}
    for label in described_labels(labels, tentative):
        names[label.name] = None
        names.update(dict.fromkeys(label.parents))
    stem = asset.filename.rsplit(".", 1)[0]
    parts = [
        ", ".join(names),
        ", ".join(counted(labels)),
        ", ".join(colour_words(properties)),
        ", ".join(persons),
        " ".join(" ".join(lines).split()[:MEANING_TEXT_WORDS]),
        " ".join(w for w in _SPLIT.split(stem) if w and not w.isdigit()),
    ]
    return ". ".join(p for p in parts if p)


def described_labels(labels: Sequence[Label], tentative: Sequence[Label] = ()) -> list[Label]:
    """The labels the meaning describes: those at MEANING_MIN_CONFIDENCE or more, or else `tentative`
    (see tentative_labels)."""
    # A detector's guess is a label, not a description ("Kite 30" on the moon); an asset nothing is sure
    # of is described by the classifier's tentative labels (the rocket split between two missiles).
    return [lb for lb in labels if lb.confidence >= MEANING_MIN_CONFIDENCE] or list(tentative)


def label_glosses(labels: Sequence[Label], tentative: Sequence[Label] = ()) -> str:
    """What the first GLOSSED_LABELS specific described labels are, in WordNet's words ("Banister, also
    bannister, balustrade, balusters: a railing at the side of a staircase or balcony to prevent people
    from falling"): "stairs" finds the banister ("" when none has a gloss)."""
    described = specific_labels(described_labels(labels, tentative))
    return ". ".join(g for lb in described[:GLOSSED_LABELS] if (g := glossed(lb.name)))


@dataclasses.dataclass(frozen=True)
class Meaning:
    """What an asset's embedding is made from: its description and what its labels are."""

    text: str  # metadata_text
    glosses: str  # label_glosses ("" for none)


def meaning_of(asset: Asset, results: Results, face_names: Sequence[str]) -> Meaning:
    """The meaning of the asset's current results (its faces named `face_names`)."""
    labels, tentative = current_labels(results), tentative_labels(results)
    text = metadata_text(
        asset,
        labels,
        searchable_lines(results),
        shown_persons(results, face_names),
        current_properties(results),
        tentative,
    )
    return Meaning(text, label_glosses(labels, tentative))


def stale_meaning(asset: Asset, results: Results, face_names: Sequence[str]) -> bool:
    """Whether the asset's embedding was made from another meaning than meaning_of says now: made before
    the meaning said what the labels are (label glosses), it is embedded again (`mediasight verify
    --repair`)."""
    run = results.get("embedding")
    if run is None:
        return False
    now = meaning_of(asset, results, face_names)
    return (run.parameters.get("text"), run.parameters.get("glosses", "")) != (now.text, now.glosses)


def current_properties(results: Results) -> ImageProperties | None:
    return results["properties"].findings.properties if "properties" in results else None


def taken_at(asset: Asset, results: Results) -> datetime | None:
    """When the picture was taken: the EXIF time read at ingest, else the date its embedded metadata or
    sidecar gives (IPTC, XMP: a scanned print dated by its cataloguer), a time without a zone read as UTC
    as EXIF's is (image_exif.parse_exif_datetime)."""
    if asset.captured_at is not None:
        return asset.captured_at
    embedded = embedded_of(results)
    found = embedded.captured_at if embedded is not None else None
    return found.replace(tzinfo=UTC) if found is not None and found.tzinfo is None else found


def index_document(asset: Asset, results: Results, persons: Sequence[str], root_id: str) -> IndexDocument:
    video = video_findings(results)
    return IndexDocument(
        tenant_id=asset.tenant_id,
        asset_id=asset.id,
        filename=" ".join(asset.filenames),  # every name it was ingested under: words of each match
        media_type=asset.media_type,
        created_at=asset.created_at,
        captured_at=taken_at(asset, results),
        labels=current_labels(results),
        text="\n".join(searchable_lines(results)),
        persons=shown_persons(results, persons),
        moderated=bool("moderation" in results and results["moderation"].findings.moderation)
        or (video is not None and video.moderated()),
        embedding=results["embedding"].findings.embedding if "embedding" in results else (),
        root_id=root_id,
        duration=video.info.duration if video is not None else None,
        training_example=asset.training_example,
        tone=tone_of(current_properties(results)),
    )


def video_findings(results: Results) -> VideoFindings | None:
    """A video asset's shots and what was found in them; None for an image."""
    return results[VIDEO].findings.video if VIDEO in results else None
