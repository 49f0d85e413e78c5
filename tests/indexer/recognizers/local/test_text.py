"""The local OCR reader on printed text rendered with Pillow, on real photos (scikit-image samples) and on the
geometry helpers alone."""

from __future__ import annotations

import importlib.metadata
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from skimage import data as samples

from catalog.domain.model import BoundingBox, TextDetection
from indexer.recognizers.local.ocr_geometry import _quad_box, _reading_order, _span_box, _word_spans
from indexer.recognizers.local.rapidocr_engine import (
    DET_MODEL,
    REC_MODEL,
    build_engine,
    rapidocr_models_dir,
    text_bands,
)
from indexer.recognizers.local.text import RapidOcrReader, _Line, _stray

Truth = dict[str, tuple[float, float, float, float]]  # word → (x0, y0, x1, y1) in pixels


@pytest.fixture(scope="module")
def reader() -> Iterator[RapidOcrReader]:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the OCR reader tried to open a network connection")

    with pytest.MonkeyPatch.context() as patch:  # loading (and one read) must not touch the network
        patch.setattr(socket.socket, "connect", no_network)
        patch.setattr(socket, "create_connection", no_network)
        model = RapidOcrReader()
        model.load()
        model.read(Image.new("RGB", (64, 64), "white"))
    yield model


def render(
    lines: list[tuple[str, int, tuple[int, int]]], size: tuple[int, int] = (1024, 768)
) -> tuple[Image.Image, Truth]:
    """Black text on white with Pillow's built-in scalable font; also each word's pixel box."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    truth: Truth = {}
    for text, font_size, (x, y) in lines:
        font = ImageFont.load_default(size=font_size)
        draw.text((x, y), text, font=font, fill="black")
        start = 0
        for word in text.split():
            start = text.index(word, start)
            truth[word] = draw.textbbox((x + draw.textlength(text[:start], font=font), y), word, font=font)
            start += len(word)
    return image, truth


def photo(name: str) -> Image.Image:
    """A scikit-image sample photo (bundled with the package), as RGB."""
    return Image.fromarray(getattr(samples, name)()).convert("RGB")


def lines_of(found: list[TextDetection]) -> list[str]:
    return [d.text for d in found if d.type == "LINE"]


def words_of(found: list[TextDetection], line: int) -> list[TextDetection]:
    return [d for d in found if d.type == "WORD" and d.parent_index == line]


def check_shape(found: list[TextDetection], *, upright: bool = True) -> None:
    """Rekognition's layout: LINEs first, then WORDs pointing at their LINE; words make up the line."""
    kinds = [d.type for d in found]
    n_lines = kinds.count("LINE")
    assert kinds == ["LINE"] * n_lines + ["WORD"] * (len(found) - n_lines)
    for d in found:
        assert d.text and d.text == d.text.strip()
        assert 0 <= d.confidence <= 100
        box = d.box
        assert 0 <= box.left <= 1 and 0 <= box.top <= 1 and box.width >= 0 and box.height >= 0
        assert box.left + box.width <= 1 + 1e-9 and box.top + box.height <= 1 + 1e-9
        if d.type == "LINE":
            assert d.parent_index is None
        else:
            assert d.parent_index is not None and 0 <= d.parent_index < n_lines
    parents = [d.parent_index or 0 for d in found if d.type == "WORD"]
    assert parents == sorted(parents)  # words come grouped by line, in line order
    for i, line in enumerate(found[:n_lines]):
        words = words_of(found, i)
        assert " ".join(w.text for w in words) == line.text
        lefts = [w.box.left for w in words]
        assert lefts == sorted(lefts, reverse=not upright)  # in reading order
        for w in words:  # inside the line's box
            assert w.box.left >= line.box.left - 1e-6
            assert w.box.left + w.box.width <= line.box.left + line.box.width + 1e-6


def x_overlap(box: BoundingBox, pixels: tuple[float, float, float, float], width: int) -> float:
    """Intersection over union of the horizontal extents."""
    a0, a1 = box.left * width, (box.left + box.width) * width
    b0, b1 = pixels[0], pixels[2]
    return max(0.0, min(a1, b1) - max(a0, b0)) / (max(a1, b1) - min(a0, b0))


# ---------------------------------------------------------------------------- the model


def test_identity(reader: RapidOcrReader) -> None:
    assert reader.name == "rapidocr-ppocr"
    assert reader.version.startswith(importlib.metadata.version("rapidocr") + "+")
    for model in (DET_MODEL, REC_MODEL):
        assert model.removesuffix(".onnx") in reader.version


def test_printed_title_comes_back_exactly_with_its_words(reader: RapidOcrReader) -> None:
    image, truth = render([("Mediasight Archive 2026", 40, (60, 80))])
    found = reader.read(image)
    check_shape(found)
    assert lines_of(found) == ["Mediasight Archive 2026"]
    line = found[0]
    assert line.confidence >= 95
    # the line box holds the glyphs with a margin (the detector's region, grown for recognition)
    x0, y0 = min(b[0] for b in truth.values()), min(b[1] for b in truth.values())
    x1, y1 = max(b[2] for b in truth.values()), max(b[3] for b in truth.values())
    left, top = line.box.left * 1024, line.box.top * 768
    right, bottom = left + line.box.width * 1024, top + line.box.height * 768
    margins = (x0 - left, y0 - top, right - x1, bottom - y1)
    assert all(-2 <= m <= 0.5 * (y1 - y0) for m in margins), margins
    words = words_of(found, 0)
    assert [w.text for w in words] == ["Mediasight", "Archive", "2026"]
    for w in words:
        assert w.confidence >= 95
        assert x_overlap(w.box, truth[w.text], 1024) >= 0.75, w
        assert (w.box.top, w.box.height) == pytest.approx((line.box.top, line.box.height), abs=0.01)


def test_document_lines_in_reading_order(reader: RapidOcrReader) -> None:
    image, truth = render(
        [
            ("Invoice 4711", 30, (60, 100)),
            ("Page 2 of 3", 30, (700, 104)),  # same row, right column
            ("Delivered on 3 March 1998 to Hamburg", 26, (60, 300)),
            ("Total amount due: 1,250.00 EUR", 26, (60, 350)),
        ]
    )
    found = reader.read(image)
    check_shape(found)
    assert lines_of(found) == [
        "Invoice 4711",
        "Page 2 of 3",
        "Delivered on 3 March 1998 to Hamburg",
        "Total amount due: 1,250.00 EUR",
    ]
    assert [w.text for w in words_of(found, 2)] == ["Delivered", "on", "3", "March", "1998", "to", "Hamburg"]
    hamburg = words_of(found, 2)[-1]
    assert x_overlap(hamburg.box, truth["Hamburg"], 1024) >= 0.75


def test_upside_down_document_is_read_upright(reader: RapidOcrReader) -> None:
    image, truth = render([("Mediasight Archive 2026", 40, (60, 80)), ("Second line of text", 30, (60, 300))])
    found = reader.read(image.rotate(180))
    check_shape(found, upright=False)
    assert lines_of(found) == ["Mediasight Archive 2026", "Second line of text"]  # the text's own order
    assert found[0].box.top > found[1].box.top  # ... which is bottom to top in the image
    words = words_of(found, 0)
    assert [w.text for w in words] == ["Mediasight", "Archive", "2026"]
    x0, _, x1, _ = truth["Mediasight"]
    assert x_overlap(words[0].box, (1024 - x1, 0, 1024 - x0, 0), 1024) >= 0.75  # mirrored position


def test_upside_down_photo_page_is_read_upright(reader: RapidOcrReader) -> None:
    page = photo("page").rotate(180)
    lines = lines_of(reader.read(page))
    assert lines[0] == "Region-based segmentation"
    assert "histogram of grey values:" in lines


def test_text_in_a_real_photo(reader: RapidOcrReader) -> None:
    # scikit-image's page(): a photo of a printed book page, uneven light, slightly curved lines
    page = photo("page")
    found = reader.read(page)
    check_shape(found)
    lines = lines_of(found)
    assert len(lines) >= 6
    assert lines[0] == "Region-based segmentation"
    assert "histogram of grey values:" in lines
    assert "Let us first determine markers of the coins and the" in lines
    words = [w.text for w in found if w.type == "WORD"]
    assert {"segmentation", "markers", "background.", "histogram"} <= set(words)


def test_text_drawn_on_a_real_photo(reader: RapidOcrReader) -> None:
    coffee = photo("coffee")
    ImageDraw.Draw(coffee).text((150, 30), "CAFE ROMA", font=ImageFont.load_default(size=36), fill="white")
    found = reader.read(coffee)
    check_shape(found)
    assert lines_of(found) == ["CAFE ROMA"]
    assert [w.text for w in words_of(found, 0)] == ["CAFE", "ROMA"]
    line = found[0]
    assert line.box.left * 600 == pytest.approx(150, abs=15)
    assert line.box.top * 400 == pytest.approx(30, abs=15)


def test_photo_without_text_yields_little(reader: RapidOcrReader) -> None:
    # PP-OCR finds a character or two in textured photos (seen: "0" at 72.5 on this cat)
    found = reader.read(photo("chelsea"))
    check_shape(found)
    assert len(lines_of(found)) <= 2
    assert all(len(text) <= 2 for text in lines_of(found))
    assert all(d.confidence < 90 for d in found)


def drawn(
    name: str, text: str, size: int, at: tuple[int, int], ink: str, plate: tuple[object, ...]
) -> Image.Image:
    """Short text drawn on a plate on a photo: a jersey number, a sign."""
    image = photo(name)
    draw = ImageDraw.Draw(image)
    draw.rectangle(plate[0], fill=plate[1])  # type: ignore[arg-type]
    draw.text(at, text, font=ImageFont.load_default(size=size), fill=ink)
    return image


def test_stray_glyphs_of_photos_are_dropped_and_real_short_text_is_kept(reader: RapidOcrReader) -> None:
    """A line of one or two characters must be read at short_line_confidence (90): the photos' stray
    glyphs read at 31–73, short text that is there at 97–100 (measured on 45 images: text.py)."""
    for name in ("clock", "coffee", "logo"):
        image = photo(name)
        assert lines_of(reader.read(image)) == [], name
        # their "O", "8" and "G" span much of the picture: no text at any bar (_stray)
        assert lines_of(reader.read(image, min_confidence=0, short_line_confidence=0)) == [], name

    jersey = drawn("astronaut", "23", 70, (220, 310), "white", ((200, 280, 330, 420), (150, 20, 20)))
    sign = drawn("coffee", "30", 60, (40, 40), "black", ((25, 30, 135, 120), (255, 255, 255)))
    platform = drawn("chelsea", "B", 50, (20, 20), "yellow", ((10, 15, 70, 85), (0, 0, 0)))
    for image, text in ((jersey, "23"), (sign, "30"), (platform, "B")):
        found = reader.read(image)
        check_shape(found)
        assert lines_of(found) == [text] and found[0].confidence >= 97
    with pytest.raises(ValueError):
        reader.read(sign, short_line_confidence=101)


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGB", (1, 1), "white"),
        Image.new("RGB", (0, 0)),
        Image.new("RGB", (1024, 10), "white"),
        Image.new("RGB", (1024, 4), "black"),
        Image.new("L", (40, 40), 255),
        Image.new("RGBA", (64, 64), (255, 255, 255, 0)),
    ],
    ids=["1x1", "0x0", "1024x10", "1024x4", "gray", "rgba"],
)
def test_tiny_thin_and_blank_images_read_as_nothing(reader: RapidOcrReader, image: Image.Image) -> None:
    assert reader.read(image) == []


def test_min_confidence(reader: RapidOcrReader) -> None:
    image, _ = render([("Mediasight", 40, (20, 20))], size=(320, 100))
    assert lines_of(reader.read(image, min_confidence=0)) == ["Mediasight"]
    assert reader.read(image, min_confidence=100) in ([], reader.read(image, min_confidence=99.99))
    with pytest.raises(ValueError):
        reader.read(image, min_confidence=101)
    with pytest.raises(ValueError):
        RapidOcrReader(min_confidence=-1)


def test_concurrent_reads_match_sequential(reader: RapidOcrReader) -> None:
    title, _ = render([("Mediasight Archive 2026", 40, (20, 20))], size=(600, 100))
    other, _ = render([("Second image, other text", 30, (20, 30))], size=(600, 100))
    images = [title, other, title, other]
    expected = [reader.read(image) for image in images[:2]] * 2
    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(reader.read, images)) == expected
    assert lines_of(expected[0]) == ["Mediasight Archive 2026"]
    assert lines_of(expected[1]) == ["Second image, other text"]


# ---------------------------------------------------------------------------- geometry alone


def test_reading_order_groups_rows_then_goes_left_to_right() -> None:
    def box(left: float, top: float, height: float = 0.05) -> BoundingBox:
        return BoundingBox(left, top, 0.2, height)

    boxes = [box(0.6, 0.52), box(0.1, 0.1), box(0.1, 0.5), box(0.6, 0.11), box(0.1, 0.3)]
    assert _reading_order(boxes) == [1, 3, 4, 2, 0]
    assert _reading_order([]) == []


def test_word_spans_without_alignment_split_by_characters() -> None:
    text = "ab cdef"
    spans = _word_spans(text, [("ab", 0, 2), ("cdef", 3, 7)], None, 0.9)
    assert spans == [("ab", 0.0, 2 / 7, 0.9), ("cdef", 3 / 7, 1.0, 0.9)]


def test_span_box_maps_along_the_reading_axis() -> None:
    quad = np.array([[100.0, 50.0], [300.0, 50.0], [300.0, 70.0], [100.0, 70.0]])
    box = _span_box(quad, 0.25, 0.5, False, 400, 100)
    assert (box.left, box.top, box.width, box.height) == pytest.approx((0.375, 0.5, 0.125, 0.2))
    # a tall (vertical) line reads downwards
    tall = np.array([[100.0, 0.0], [120.0, 0.0], [120.0, 100.0], [100.0, 100.0]])
    box = _span_box(tall, 0.5, 1.0, True, 400, 100)
    assert (box.left, box.top, box.width, box.height) == pytest.approx((0.25, 0.5, 0.05, 0.5))


def test_quad_box_is_clipped_to_the_image() -> None:
    quad = np.array([[-10.0, -5.0], [50.0, -5.0], [50.0, 120.0], [-10.0, 120.0]])
    box = _quad_box(quad, 100, 100)
    assert (box.left, box.top, box.width, box.height) == (0.0, 0.0, 0.5, 1.0)


# ---------------------------------------------------------------------------- the look at half size


@pytest.fixture(scope="module")
def engine() -> object:
    return build_engine(rapidocr_models_dir(), 1)


def bgr(image: Image.Image) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])


def test_bands_hold_every_line_down_to_7_px_and_little_else(engine: object) -> None:
    image, truth = render([("Small print at 7 px", 7, (60, 80)), ("A title", 40, (300, 500))])
    bands = text_bands(engine, bgr(image))  # type: ignore[arg-type]
    assert bands is not None and len(bands) == 2
    for _, y0, _, y1 in truth.values():
        assert any(top <= y0 and y1 <= bottom for top, bottom in bands), (y0, y1, bands)
    assert sum(b - t for t, b in bands) < 0.3 * image.height


def test_a_photo_without_text_needs_no_detection_at_full_size(engine: object) -> None:
    assert text_bands(engine, bgr(photo("rocket").resize((1024, 768)))) == []  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["retina", "horse"])
def test_image_tall_text_regions_are_no_lines(engine: object, name: str) -> None:
    # enlarged, these are where the detector sees image-tall "text" regions that read as nothing
    bands = text_bands(engine, bgr(photo(name).resize((1024, 768))))  # type: ignore[arg-type]
    assert bands is not None and sum(b - t for t, b in bands) < 768 / 4


def captioned_stars() -> Image.Image:
    """scikit-image's deep field enlarged, a caption on a plate (18 px) and two lines of 12 px below it."""
    stars = photo("hubble_deep_field").resize((1024, 768))
    draw = ImageDraw.Draw(stars)
    draw.rectangle((239, 458, 413, 483), fill=(20, 20, 20))
    draw.text((242, 460), "No Parking 8am 6pm", font=ImageFont.load_default(size=18), fill="white")
    for text, at in (("Photo by J. Smith 1958", (253, 620)), ("Harbour Street 12", (319, 660))):
        draw.text(at, text, font=ImageFont.load_default(size=12), fill="white")
    return stars


def test_a_caption_inside_a_texture_the_look_sees_as_text_is_read(reader: RapidOcrReader) -> None:
    # the star field's faint "text" and the small lines join the caption into one region too tall to be a
    # line; inside it the caption passes the strong bar (before: nothing was read here)
    assert lines_of(reader.read(captioned_stars())) == ["No Parking 8am 6pm"]


def test_thorough_reading_finds_the_small_print_the_look_misses(reader: RapidOcrReader) -> None:
    found = reader.read(captioned_stars(), thorough=True)
    check_shape(found)
    assert sorted(lines_of(found)) == ["Harbour Street 12", "No Parking 8am 6pm", "Photo by J. Smith 1958"]


def test_small_images_are_detected_whole(engine: object) -> None:
    image, _ = render([("Mediasight", 20, (20, 20))], size=(640, 480))
    assert text_bands(engine, bgr(image)) is None  # type: ignore[arg-type]


def test_strays_are_lines_of_symbols_or_short_lines_spread_over_the_picture() -> None:
    def line(text: str, width: float, height: float) -> _Line:
        return _Line(text, 99.0, BoundingBox(0.0, 0.0, width, height), ())

    assert _stray(line("***", 0.3, 0.2)) and _stray(line("★ ★", 0.1, 0.05))  # a flag's stars (Grace Hopper's)
    assert _stray(line("8", 0.94, 0.99))  # the coffee's "8", over all of it
    assert not _stray(line("23", 0.2, 0.3))  # a jersey number
    assert not _stray(line("STOP", 0.9, 0.9))  # a sign filling the frame: more than a short line
    assert not _stray(line("No. 7", 0.3, 0.1))
