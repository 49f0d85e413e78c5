"""One asset's metadata as exports write it: what came with the file (provenance `embedded`) and what the
recognizers found (machine values, with model and version). Pure: made from the catalog's current results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from catalog.domain.embedded import EMBEDDED, EmbeddedMetadata
from catalog.domain.field_names import DEFAULT_LANGUAGE
from catalog.domain.metadata import PERSON, current_labels
from catalog.domain.model import Asset, BoundingBox, RecognitionResult
from catalog.domain.review.human_labels import HUMAN_PROVIDER


@dataclass(frozen=True)
class MachineKeyword:
    name: str
    confidence: float  # 0–100
    parents: tuple[str, ...]
    model: str
    model_version: str
    by_reviewers: bool = False  # its confidence is a human review's verdict, not a model's

    @property
    def machine(self) -> bool:
        return not self.by_reviewers


@dataclass(frozen=True)
class MachineRegion:
    box: BoundingBox
    kind: str  # "face" | "person" | "text"
    name: str  # the person's name (faces named in the archive), the words (text), or ""
    confidence: float
    model: str
    model_version: str


@dataclass(frozen=True)
class ExportRecord:
    asset_id: str
    filename: str
    media_type: str
    width: int
    height: int
    embedded: EmbeddedMetadata  # empty when the file brought none
    keywords: tuple[MachineKeyword, ...] = ()
    regions: tuple[MachineRegion, ...] = ()
    field_language: str = DEFAULT_LANGUAGE  # how CSV headers and JSON keys are named (a profile's choice)

    def persons(self) -> tuple[str, ...]:
        """Persons shown: those written in the file and those named on detected faces, each once."""
        names = [*self.embedded.persons, *(r.name for r in self.regions if r.kind == "face" and r.name)]
        return tuple(dict.fromkeys(names))

    def all_keywords(self) -> tuple[str, ...]:
        """Every keyword, each level of a hierarchy too (as dc:subject carries them), each once."""
        out: dict[str, str] = {}
        machine = (w for k in self.keywords for w in (*reversed(k.parents), k.name))
        for word in (*self.embedded.all_keywords(), *machine):
            out.setdefault(word.casefold(), word)
        return tuple(out.values())


def export_record(
    asset: Asset, results: Mapping[str, RecognitionResult], face_names: Sequence[str | None] = ()
) -> ExportRecord:
    """`face_names`: the person's name of each face of the current faces run, by index (None: unnamed)."""
    embedded = results[EMBEDDED].findings.embedded if EMBEDDED in results else None
    said_by = _said_by(results)
    keywords = tuple(
        _keyword(lb.name, lb.confidence, lb.parents, said_by.get(lb.name.casefold()))
        for lb in current_labels(results)
    )
    regions: list[MachineRegion] = []
    if "faces" in results:
        run = results["faces"]
        for i, face in enumerate(run.findings.faces):
            name = face_names[i] if i < len(face_names) else None
            regions.append(
                MachineRegion(
                    face.box, "face", name or "", face.confidence, run.model_name, run.model_version
                )
            )
    if "people" in results:
        run = results["people"]
        for inst in run.findings.people:
            regions.append(
                MachineRegion(inst.box, "person", "", inst.confidence, run.model_name, run.model_version)
            )
    if "text" in results:
        run = results["text"]
        for t in run.findings.text:
            if t.type == "LINE":
                regions.append(
                    MachineRegion(t.box, "text", t.text, t.confidence, run.model_name, run.model_version)
                )
    return ExportRecord(
        asset_id=asset.id,
        filename=asset.filename,
        media_type=asset.media_type,
        width=asset.width,
        height=asset.height,
        embedded=embedded or EmbeddedMetadata(),
        keywords=keywords,
        regions=tuple(regions),
    )


def _said_by(results: Mapping[str, RecognitionResult]) -> dict[str, RecognitionResult]:
    """Lower-cased label name → the run that gave the label its confidence: the classifier, the object
    detector, a custom concept, a video's shots or a human review (the most confident one when several
    said it); Person, when no run named it, comes from the faces or people run that found one."""
    best: dict[str, tuple[float, RecognitionResult]] = {}
    for run in results.values():
        said = [*run.findings.labels, *(run.findings.video.labels() if run.findings.video else ())]
        for lb in said:
            key = lb.name.casefold()
            if key not in best or lb.confidence > best[key][0]:
                best[key] = (lb.confidence, run)
    for analyzer in ("faces", "people"):
        if analyzer in results:
            best.setdefault(PERSON.casefold(), (0.0, results[analyzer]))
    return {key: run for key, (_, run) in best.items()}


def _keyword(
    name: str, confidence: float, parents: tuple[str, ...], run: RecognitionResult | None
) -> MachineKeyword:
    if run is None:
        return MachineKeyword(name, confidence, parents, "", "")
    human = run.provider == HUMAN_PROVIDER
    return MachineKeyword(name, confidence, parents, run.model_name, run.model_version, by_reviewers=human)
