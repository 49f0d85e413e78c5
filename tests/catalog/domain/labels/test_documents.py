"""A picture that is mostly text is a Document; a photo that shows some text is not."""

from __future__ import annotations

from catalog.domain.labels.documents import FULL_COVERAGE, document_labels
from catalog.domain.metadata import current_labels, machine_labels
from catalog.domain.model import BoundingBox, Findings, Label, RecognitionResult, TextDetection
from catalog.domain.video.findings import VideoFindings
from catalog.domain.video.media import VideoInfo


def line(
    text: str, top: float, width: float = 0.8, height: float = 0.1, confidence: float = 98.0
) -> TextDetection:
    return TextDetection(text, confidence, "LINE", BoundingBox(0.1, top, width, height))


def word(text: str, parent: int) -> TextDetection:
    return TextDetection(text, 99.0, "WORD", BoundingBox(0.1, 0.1, 0.1, 0.1), parent)


MEMO = (
    line("Mediasight Archive 2026", 0.2, height=0.12),
    line("Quarterly report for the board", 0.5, 0.5, 0.12, confidence=90.0),
)


def run(analyzer: str, findings: Findings, **parameters: object) -> RecognitionResult:
    return RecognitionResult("a1", analyzer, "model", "1", findings, parameters=dict(parameters))


def names(labels: tuple[Label, ...]) -> list[str]:
    return [lb.name for lb in labels]


def test_a_page_of_text_is_a_document_beneath_text() -> None:
    document, text = document_labels((*MEMO, word("Mediasight", 0)))
    assert (document.name, document.parents) == ("Document", ("Text",))
    assert (text.name, text.parents) == ("Text", ())
    # each line's confidence weighs by its area: 0.096 at 98, 0.06 at 90; the lines cover 0.156 of the
    # picture, so it is a Document by 0.156 / FULL_COVERAGE of that
    read = (0.096 * 98 + 0.06 * 90) / 0.156
    assert text.confidence == round(read, 2)
    assert document.confidence == round(read * 0.156 / FULL_COVERAGE, 2)
    assert not document.instances  # the lines' boxes are the text's to show, not a label's


def test_a_photo_with_some_text_is_none() -> None:
    caption = line("Chelsea on the porch, summer 1952", 0.9, 0.6, 0.08)  # one line
    assert document_labels((caption,)) == ()
    bus = tuple(line(f"M150 SEVILLA {i}", i / 10, 0.1, 0.04) for i in range(8))  # 3 % of the picture
    assert document_labels(bus) == ()
    stripes = (line("***", 0.3, 0.4, 0.2), line("**", 0.6, 0.4, 0.2))  # large, but a few characters
    assert document_labels(stripes) == ()
    assert document_labels(()) == ()


def test_each_bar_holds_at_its_edge() -> None:
    thirty = (line("a" * 15, 0.1, 0.5, 0.15), line("b" * 15, 0.5, 0.5, 0.15))  # 30 characters, 15 %
    assert names(document_labels(thirty)) == ["Document", "Text"]
    assert document_labels((thirty[0], line("b" * 14, 0.5, 0.5, 0.15))) == ()
    assert document_labels((thirty[0], line("b" * 15, 0.5, 0.5, 0.149))) == ()
    spaced = (line(" ".join("a" * 8), 0.1, 0.5, 0.15), thirty[1])  # 15 long, but spaces do not count
    assert document_labels(spaced) == ()


def test_a_document_comes_first_and_silences_the_classifiers_guesses() -> None:
    guesses = (Label("Web Site", 31.0, ("Computer",)), Label("Computer", 31.0))
    results = {
        "labels": run("labels", Findings(labels=guesses), min_confidence=50.0, tentative_confidence=25.0),
        "text": run("text", Findings(text=MEMO)),
    }
    assert names(machine_labels(results)) == ["Document", "Text"]
    # a sure classifier label stays, in confidence order; the parent waits for its child
    envelope = (Label("Envelope", 99.5, ("Container",)), Label("Container", 99.6))
    results["labels"] = run(
        "labels", Findings(labels=envelope), min_confidence=50.0, tentative_confidence=25.0
    )
    assert names(current_labels(results)) == ["Envelope", "Container", "Document", "Text"]


def test_a_full_page_is_as_surely_a_document_as_it_is_read() -> None:
    page = tuple(
        line("the harbour office about the ships", i / 10, 0.9, 0.06, confidence=97.0) for i in range(8)
    )
    document, text = document_labels(page)  # 43 % of the picture
    assert document.confidence == text.confidence == 97.0


def test_a_photo_whose_signs_barely_pass_the_bars_keeps_its_own_first_label() -> None:
    signs = (
        line("GRAND HOTEL RESTAURANT", 0.1, 0.5, 0.16, 99.0),
        line("OPEN DAILY FROM NINE", 0.5, 0.5, 0.16),
    )
    results = {
        "objects": run("objects", Findings(labels=(Label("Person", 90.0, ("Human",)), Label("Human", 90.0)))),
        "text": run("text", Findings(text=signs)),
    }
    labels = machine_labels(results)
    assert names(labels) == ["Person", "Human", "Document", "Text"]
    assert labels[2].confidence < 90.0 < labels[3].confidence  # a Document by 16 % of a page; Text read at 98


def test_review_can_reject_it_like_any_label() -> None:
    verdict = run("review", Findings(labels=(Label("Document", 0.0),)))
    assert names(current_labels({"text": run("text", Findings(text=MEMO)), "review": verdict})) == ["Text"]


def test_a_video_is_no_document_even_with_a_title_card_poster() -> None:
    info = VideoInfo("video/mp4", "mp4", "h264", 2, 2, 3.0, "25", 75, False)
    results = {
        "text": run("text", Findings(text=MEMO)),
        "video": run("video", Findings(video=VideoFindings(info))),
    }
    assert names(machine_labels(results)) == []
