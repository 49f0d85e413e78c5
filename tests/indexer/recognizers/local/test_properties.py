"""Image properties on real photos (scikit-image samples) and on synthetic images made with Pillow."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter
from skimage import data as samples

from catalog.domain.model import ImageProperties
from catalog.domain.tone import COLOUR, MONOCHROME, tone_of
from indexer.recognizers.local.properties import (
    dominant_colors,
    image_properties,
    quality_score,
    sharpness_score,
)

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")


def photo(name: str) -> Image.Image:
    return Image.fromarray(getattr(samples, name)()).convert("RGB")


@pytest.fixture(scope="module")
def originals() -> dict[str, tuple[Image.Image, ImageProperties]]:
    return {name: (im, image_properties(im)) for name in PHOTOS for im in [photo(name)]}


def assert_well_formed(props: ImageProperties) -> None:
    for value in (props.brightness, props.sharpness, props.contrast, props.quality):
        assert 0.0 <= value <= 100.0
    assert 1 <= len(props.dominant_colors) <= 5
    assert sum(c.pixel_percent for c in props.dominant_colors) == pytest.approx(100.0, abs=0.1)
    percents = [c.pixel_percent for c in props.dominant_colors]
    assert percents == sorted(percents, reverse=True)
    for c in props.dominant_colors:
        assert re.fullmatch(r"#[0-9A-F]{6}", c.hex)
        assert c.hex == f"#{c.red:02X}{c.green:02X}{c.blue:02X}"
        assert 0 < c.pixel_percent <= 100


@pytest.mark.parametrize("name", PHOTOS)
def test_photo_properties_are_well_formed(
    originals: dict[str, tuple[Image.Image, ImageProperties]], name: str
) -> None:
    _, props = originals[name]
    assert_well_formed(props)
    assert len(props.dominant_colors) == 5
    assert props.sharpness > 50
    assert props.quality > 60
    assert 10 < props.brightness < 90


@pytest.mark.parametrize("name", PHOTOS)
def test_blur_lowers_sharpness_and_quality(
    originals: dict[str, tuple[Image.Image, ImageProperties]], name: str
) -> None:
    image, sharp = originals[name]
    slight = image_properties(image.filter(ImageFilter.GaussianBlur(1)))
    blurred = image_properties(image.filter(ImageFilter.GaussianBlur(3)))
    assert blurred.sharpness < slight.sharpness < sharp.sharpness
    assert blurred.sharpness < sharp.sharpness - 35
    assert blurred.quality < sharp.quality - 20
    assert blurred.brightness == pytest.approx(sharp.brightness, abs=1.0)


@pytest.mark.parametrize("name", PHOTOS)
def test_darkening_lowers_brightness_and_quality(
    originals: dict[str, tuple[Image.Image, ImageProperties]], name: str
) -> None:
    image, normal = originals[name]
    dark = image_properties(ImageEnhance.Brightness(image).enhance(0.3))
    assert dark.brightness < normal.brightness * 0.4
    assert dark.quality < normal.quality
    assert dark.contrast < normal.contrast


def test_result_does_not_depend_much_on_resolution() -> None:
    image = photo("retina")  # 1411 px
    big, small = (image_properties(image.resize((s, s), Image.Resampling.LANCZOS)) for s in (1024, 700))
    assert big.brightness == pytest.approx(small.brightness, abs=1.0)
    assert big.contrast == pytest.approx(small.contrast, abs=2.0)
    assert big.sharpness == pytest.approx(small.sharpness, abs=5.0)


def test_flat_grey_has_no_contrast_or_sharpness() -> None:
    props = image_properties(Image.new("RGB", (800, 600), (128, 128, 128)))
    assert props.contrast < 1.0
    assert props.sharpness < 1.0
    assert props.quality < 1.0
    assert props.brightness == pytest.approx(50.2, abs=0.5)
    assert [(c.hex, c.pixel_percent) for c in props.dominant_colors] == [("#808080", 100.0)]


def test_pure_red_is_its_one_dominant_color() -> None:
    props = image_properties(Image.new("RGB", (640, 480), (255, 0, 0)))
    (red,) = props.dominant_colors
    assert (red.red, red.green, red.blue, red.hex) == (255, 0, 0, "#FF0000")
    assert red.pixel_percent == pytest.approx(100.0)


def test_two_color_image_gets_both_colors_in_proportion() -> None:
    image = Image.new("RGB", (400, 100), (0, 0, 255))
    image.paste((255, 255, 0), (0, 0, 100, 100))  # a quarter yellow
    first, second, *rest = image_properties(image).dominant_colors
    assert (first.hex, second.hex) == ("#0000FF", "#FFFF00")
    assert first.pixel_percent == pytest.approx(75.0, abs=1.5)
    assert second.pixel_percent == pytest.approx(25.0, abs=1.5)
    assert sum(c.pixel_percent for c in rest) < 3.0  # the thumbnail's blend along the edge, if any


def test_black_white_and_half_and_half() -> None:
    black = image_properties(Image.new("RGB", (300, 200), (0, 0, 0)))
    white = image_properties(Image.new("RGB", (300, 200), (255, 255, 255)))
    assert black.brightness == 0.0
    assert black.quality == 0.0
    assert white.brightness == 100.0
    half = Image.new("RGB", (400, 400), (0, 0, 0))
    half.paste((255, 255, 255), (0, 0, 200, 400))
    assert image_properties(half).contrast == pytest.approx(100.0, abs=0.5)


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (1024, 10), (10, 1024), (1, 1024), (1024, 1024)])
def test_edge_sizes(size: tuple[int, int]) -> None:
    pixels = np.random.default_rng(7).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    assert_well_formed(image_properties(Image.fromarray(pixels)))
    props = image_properties(Image.new("RGB", size, (10, 200, 30)))
    assert_well_formed(props)
    assert props.sharpness == 0.0
    assert props.dominant_colors[0].hex == "#0AC81E"


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "LA", "CMYK", "I;16"])
def test_other_modes_are_converted(mode: str) -> None:
    image = photo("coffee").convert(mode)
    assert_well_formed(image_properties(image))


def test_deterministic(originals: dict[str, tuple[Image.Image, ImageProperties]]) -> None:
    image, props = originals["astronaut"]
    assert image_properties(image.copy()) == props


def test_sharpness_curve() -> None:
    assert sharpness_score(0.0) == 0.0
    assert sharpness_score(-1.0) == 0.0
    assert sharpness_score(54.0) == pytest.approx(50.0, abs=1.0)
    assert sharpness_score(3000.0) == pytest.approx(100.0)
    assert sharpness_score(1e9) == 100.0
    values = [sharpness_score(v) for v in (1, 10, 100, 1000)]
    assert values == sorted(values)


def test_quality_blend() -> None:
    good = quality_score(sharpness=90, brightness=50, contrast=50, clipped=0.0)
    assert good == pytest.approx(100 * 0.9**0.5)
    assert quality_score(sharpness=90, brightness=50, contrast=0, clipped=0.0) == 0.0
    assert quality_score(sharpness=0, brightness=50, contrast=50, clipped=0.0) == 0.0
    assert quality_score(sharpness=90, brightness=0, contrast=50, clipped=0.0) == 0.0
    assert quality_score(sharpness=90, brightness=85, contrast=50, clipped=0.0) < good
    assert quality_score(sharpness=90, brightness=50, contrast=10, clipped=0.0) < good
    # mostly white (a document, a product shot) is penalised, but not to zero
    assert 0 < quality_score(sharpness=90, brightness=60, contrast=50, clipped=0.9) < good


def test_dominant_colors_alone_take_any_mode() -> None:
    image = Image.new("RGBA", (200, 100), (0, 128, 255, 255))
    assert [c.hex for c in dominant_colors(image)] == ["#0080FF"]


def toned(image: Image.Image, shadow: tuple[int, int, int], light: tuple[int, int, int]) -> Image.Image:
    """A toned print of the image: its grey levels mapped from `shadow` to `light` (sepia, cyanotype)."""
    grey = np.asarray(image.convert("L"), dtype=np.float32)[..., None] / 255.0
    rgb = np.asarray(shadow, dtype=np.float32) * (1 - grey) + np.asarray(light, dtype=np.float32) * grey
    return Image.fromarray(rgb.round().astype(np.uint8))


@pytest.mark.parametrize("name", ["camera", "coins", "moon", "page"])
def test_greyscale_photos_and_their_toned_prints_are_monochrome(name: str) -> None:
    grey = Image.fromarray(getattr(samples, name)()).convert("RGB")
    sepia = toned(grey, (40, 26, 13), (245, 232, 205))
    cyanotype = toned(grey, (10, 40, 90), (235, 240, 245))
    for image in (grey, sepia, cyanotype):
        props = image_properties(image)
        assert tone_of(props) == MONOCHROME, (props.off_tone_percent, props.median_chroma)
    assert image_properties(grey).median_chroma == pytest.approx(0.0, abs=0.1)
    assert image_properties(sepia).median_chroma > 10  # tinted, yet one tone


@pytest.mark.parametrize("name", [*PHOTOS, "hubble_deep_field", "immunohistochemistry"])
def test_colour_photos_are_colour(name: str) -> None:
    props = image_properties(photo(name))
    assert tone_of(props) == COLOUR and props.off_tone_percent is not None and props.off_tone_percent > 1


def test_a_grey_photo_with_a_few_coloured_things_is_colour() -> None:
    image = Image.fromarray(samples.camera()).convert("RGB")
    for x in range(40, 480, 80):  # six small red patches: 1.4 % of the picture
        image.paste((200, 30, 30), (x, 40, x + 30, 70))
    props = image_properties(image)
    assert tone_of(props) == COLOUR, props.off_tone_percent
