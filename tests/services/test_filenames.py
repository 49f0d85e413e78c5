"""Filenames are display names: nothing in them can disguise or reach outside what they name."""

from __future__ import annotations

import pytest

from services.ingest import MAX_FILENAME, clean_filename


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("holiday.jpg", "holiday.jpg"),
        ("\u202egpj.exe", "gpj.exe"),  # right-to-left override: shown as "exe.jpg" otherwise
        ("in\u200bvoice\u2066.jpg", "invoice.jpg"),  # zero-width space, isolate
        ("a\x00b\x1fc\x7f.jpg", "abc.jpg"),
        ("tab\there\nnew   line.jpg", "tab here new line.jpg"),
        ("..", "unnamed"),
        (".", "unnamed"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\photo.jpg", "photo.jpg"),
        ("dir/..", "unnamed"),
        ("  ", "unnamed"),
        ("Cafe\u0301.jpg", "Café.jpg"),  # NFC
        ("x" * 300, "x" * MAX_FILENAME),
    ],
)
def test_clean_filename(given: str, stored: str) -> None:
    assert clean_filename(given) == stored
