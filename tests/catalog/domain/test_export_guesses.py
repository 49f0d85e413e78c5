"""Exports leave a model's guesses (labels and regions under 50) out unless a profile asks for them."""

from __future__ import annotations

from catalog.domain.embedded import EmbeddedMetadata
from catalog.domain.export_profile import ExportProfile, apply_profile
from catalog.domain.export_record import ExportRecord, MachineKeyword, MachineRegion
from catalog.domain.model import BoundingBox

BOX = BoundingBox(0.1, 0.1, 0.2, 0.2)


def storm() -> ExportRecord:
    return ExportRecord(
        asset_id="a",
        filename="storm.jpg",
        media_type="image/jpeg",
        width=640,
        height=480,
        embedded=EmbeddedMetadata(),
        keywords=(
            MachineKeyword("Cloud", 72.0, ("Sky",), "clf", "1"),
            MachineKeyword("Airplane Wing", 29.0, ("Airfoil",), "clf", "1"),
        ),
        regions=(
            MachineRegion(BOX, "text", "ROAD CLOSED", 91.0, "ocr", "1"),
            MachineRegion(BOX, "text", "r0ad", 31.0, "ocr", "1"),
        ),
    )


def test_an_export_without_a_profile_leaves_the_guesses_out() -> None:
    out = apply_profile(storm(), None)
    assert [k.name for k in out.keywords] == ["Cloud"]
    assert [r.name for r in out.regions] == ["ROAD CLOSED"]


def test_a_new_profile_leaves_them_out_too_and_one_at_0_keeps_everything() -> None:
    assert [k.name for k in apply_profile(storm(), ExportProfile("press")).keywords] == ["Cloud"]
    everything = apply_profile(storm(), ExportProfile("all", min_confidence=0.0))
    assert [k.name for k in everything.keywords] == ["Cloud", "Airplane Wing"]
    assert len(everything.regions) == 2
