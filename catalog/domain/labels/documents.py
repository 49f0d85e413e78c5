"""A picture that is mostly text is a Document: the text recognizer's lines say so (pure functions).

ImageNet has no class for a page of text, and the object detector none either, so a scanned letter, a
newspaper page or a typed memo got no label a person would use (on the 8 documents below the classifier said
nothing on 5, "Menu" on 2, once sure at 54, and "Website? 34" on 1). The text recognizer is sure of such a
picture: many characters, read with high confidence, over a large part of it. A photo that merely shows some
text (a caption strip, a sign, a bus's destination board, a sleeve's stripes read as "***") is no Document:
its text is found by the text search.

Calibrated on the lines the text recognizer reads in the preview (as the pipeline runs it) of 56 pictures.
8 documents (scikit-image's printed page; typed memos and letters of 2, 3 and 6 lines; three letters of
30–48 lines, one of them blurred; a two-column newspaper page): 2–88 lines, 36–3,893 characters, 18.4–100 %
of the picture inside line boxes (summed, so overlapping boxes can pass 100 %). 48 other pictures: 42
photos from packages and 6 made for this; those with text read in them: captions under three photos (1
line, 3.2–7.6 %), a sign on a photo (1 line, 5.4 %), "OPEN" over a third of a photo (4 characters), a
one-line typed card (21 characters, 14.7 %), a bus's boards (8 lines, 78 characters, 4.0 %), a portrait's
sleeve stripes read as "***" (3 lines, 15 characters, 13.5 %), scikit-image's text sample read as gibberish
(7 characters), a motorcycle's brand (6 characters). Every document passes all three bars below;
every other picture fails at least one.

Held out, after the bars were set: 14 images from the Rust and pyparsing documentation in this machine's
toolchains. The 11 screenshots and datasheet pages (web pages, terminal output, a register table, a memory
map) are Documents (17.7–46.2 %); the two photos of circuit boards are not, the closest a board whose
silkscreen gave 75 short lines, 314 characters, 13.4 %; nor is a class diagram (125 boxes' words, 11.4 %).
"""

from __future__ import annotations

from collections.abc import Sequence

from catalog.domain.model import Label, TextDetection

DOCUMENT, TEXT = "Document", "Text"  # Rekognition's names: Document, beneath Text
MIN_LINES = 2
MIN_CHARACTERS = 30  # spaces aside
MIN_COVERAGE = 0.15  # the lines' boxes' summed area, as a share of the picture
FULL_COVERAGE = 0.3  # from here on a picture is as surely a Document as its text is surely read


def document_labels(detections: Sequence[TextDetection]) -> tuple[Label, ...]:
    """Document (parent Text) and Text when the picture is mostly text (module doc), else nothing.

    Text's confidence is the lines' reading confidence, each line weighted by its area. Document's is that
    times the share of FULL_COVERAGE the lines cover (at most 1): a page of text (a letter at 48 %) is a
    Document 99, a screenshot at 17.7 % a Document 58, and a photo whose signs or headlines pass the bars
    barely (none of the 51 other pictures seen did) would be a Document near 50, after what the other
    models are sure of, not its first label."""
    lines = [t for t in detections if t.type == "LINE"]
    areas = [t.box.width * t.box.height for t in lines]
    covered = sum(areas)
    characters = sum(len("".join(t.text.split())) for t in lines)
    if len(lines) < MIN_LINES or characters < MIN_CHARACTERS or covered < MIN_COVERAGE:
        return ()
    read = sum(a * t.confidence for a, t in zip(areas, lines, strict=True)) / covered
    document = read * min(1.0, covered / FULL_COVERAGE)
    return Label(DOCUMENT, round(document, 2), (TEXT,)), Label(TEXT, round(read, 2))
