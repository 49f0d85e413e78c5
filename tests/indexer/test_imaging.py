"""indexer.imaging (sniff / probe) and indexer.renditions (decode / renditions) on real and crafted bytes."""

from __future__ import annotations

import io
import os
import resource
import struct
import time
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from PIL import Image, ImageCms, JpegImagePlugin
from skimage import data as samples

from indexer.image_errors import ImageRejected
from indexer.image_exif import parse_exif_datetime
from indexer.imaging import oriented_size, probe, sniff
from indexer.renditions import PREVIEW_MAX, THUMBNAIL_MAX, decode, draft_for, renditions

MAX = 50_000_000


def encode(img: Image.Image, fmt: str, **save: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **save)
    return buf.getvalue()


def photo(size: tuple[int, int] | None = None) -> Image.Image:
    img = Image.fromarray(samples.chelsea())  # 451x300 real photo
    return img if size is None else img.resize(size, Image.Resampling.BICUBIC)


def large_jpeg(size: tuple[int, int] = (4000, 3000), **save: object) -> bytes:
    """A 12 MP photo that compresses like a camera JPEG (upscaled astronaut plus sensor-like noise)."""
    base = np.asarray(Image.fromarray(samples.astronaut()).resize(size, Image.Resampling.BICUBIC))
    noisy = base + np.random.default_rng(0).normal(0, 6, base.shape)
    return encode(Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)), "JPEG", quality=90, **save)


def png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def rejected(data: bytes, **kw: int) -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        probe(data, max_pixels=kw.pop("max_pixels", MAX), **kw)
    return info.value


def near(actual: object, expected: tuple[int, ...], tol: int = 12) -> bool:
    assert isinstance(actual, tuple)
    return all(abs(a - e) <= tol for a, e in zip(actual, expected, strict=True))


# ---- formats ----------------------------------------------------------------------------------------

FORMATS = [
    ("JPEG", {}, "image/jpeg"),
    ("PNG", {}, "image/png"),
    ("TIFF", {}, "image/tiff"),
    ("TIFF", {"compression": "tiff_lzw"}, "image/tiff"),
    ("WEBP", {}, "image/webp"),
    ("WEBP", {"lossless": True}, "image/webp"),
    ("GIF", {}, "image/gif"),
    ("BMP", {}, "image/bmp"),
    ("AVIF", {}, "image/avif"),
]


@pytest.mark.parametrize(("fmt", "save", "media_type"), FORMATS)
def test_every_format_is_probed_and_decoded_by_content(
    fmt: str, save: dict[str, object], media_type: str
) -> None:
    data = encode(photo(), fmt, **save)
    info = probe(data, max_pixels=MAX)  # the API never sees a file name: only the bytes decide
    assert (info.media_type, info.width, info.height, info.orientation) == (media_type, 451, 300, 1)
    img = decode(data, target=256)
    assert (img.mode, img.size) == ("RGB", (256, 170))


def test_heic_is_accepted_with_pillow_heif_or_refused_with_a_hint() -> None:
    ftyp = struct.pack(">I", 24) + b"ftypheic" + b"\0\0\0\0" + b"mif1heic"
    try:
        import pillow_heif  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        error = rejected(ftyp + b"\0" * 64)
        assert error.code == "unsupported_format" and "pillow-heif" in str(error)
        return
    pillow_heif.register_heif_opener()
    data = encode(photo(), "HEIF", quality=80)
    assert probe(data, max_pixels=MAX).media_type == "image/heic"
    assert decode(data, target=256).size == (256, 170)


def test_mp4_video_is_an_unsupported_format() -> None:
    assert (
        rejected(struct.pack(">I", 24) + b"ftypisom\0\0\0\0isommp41" + b"\0" * 64).code
        == "unsupported_format"
    )


# ---- modes ------------------------------------------------------------------------------------------


def test_cmyk_jpeg_and_tiff_stay_red() -> None:
    red = Image.new("CMYK", (40, 30), (0, 255, 255, 0))
    jpeg = encode(red, "JPEG")  # Pillow writes Adobe-style inverted CMYK, as Photoshop does
    assert Image.open(io.BytesIO(jpeg)).info.get("adobe") is not None
    for data in (jpeg, encode(red, "TIFF")):
        img = decode(data, target=64)
        assert img.mode == "RGB" and near(img.getpixel((20, 15)), (255, 0, 0), tol=20)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_grayscale_is_scaled_not_clipped(fmt: str) -> None:
    ramp = np.zeros((20, 30), np.uint16)
    ramp[:, :10], ramp[:, 10:20], ramp[:, 20:] = 65535, 32896, 0
    data = encode(Image.fromarray(ramp), fmt)
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    img = decode(data, target=64)
    assert img.mode == "RGB"
    assert img.getpixel((2, 10)) == (255, 255, 255)  # white stays white
    assert near(img.getpixel((15, 10)), (128, 128, 128), tol=1)
    assert img.getpixel((27, 10)) == (0, 0, 0)


def test_float_tiff_is_scaled_to_8_bit() -> None:
    values = np.tile(np.linspace(0.0, 1.0, 32, dtype=np.float32), (8, 1))
    img = decode(encode(Image.fromarray(values), "TIFF"), target=64)
    assert img.getpixel((0, 4)) == (0, 0, 0) and img.getpixel((31, 4)) == (255, 255, 255)


def test_palette_with_transparency_composites_onto_white() -> None:
    for fmt in ("PNG", "GIF"):
        pal = Image.new("P", (20, 10), 1)
        pal.putpalette([0, 0, 0, 255, 0, 0] + [0, 0, 0] * 254)
        pal.paste(0, (0, 0, 10, 10))  # left half: index 0, declared transparent
        img = decode(encode(pal, fmt, transparency=0), target=64)
        assert img.mode == "RGB"
        assert img.getpixel((3, 5)) == (255, 255, 255) and img.getpixel((16, 5)) == (255, 0, 0)


def test_rgba_and_la_composite_onto_white() -> None:
    rgba = Image.new("RGBA", (20, 10), (0, 0, 255, 0))
    rgba.paste((0, 0, 255, 128), (10, 0, 20, 10))
    img = decode(encode(rgba, "PNG"), target=64)
    assert img.getpixel((3, 5)) == (255, 255, 255)
    assert near(img.getpixel((16, 5)), (127, 127, 255), tol=2)
    la = decode(encode(Image.new("LA", (8, 8), (0, 0)), "PNG"), target=64)
    assert la.getpixel((4, 4)) == (255, 255, 255)


def test_one_bit_images_decode_to_black_and_white() -> None:
    bw = Image.new("1", (16, 8), 0)
    bw.paste(1, (8, 0, 16, 8))
    for fmt in ("PNG", "TIFF", "BMP"):
        img = decode(encode(bw, fmt), target=64)
        assert (
            img.mode == "RGB"
            and img.getpixel((2, 4)) == (0, 0, 0)
            and img.getpixel((12, 4)) == (255, 255, 255)
        )


def test_embedded_icc_profile_is_applied_and_a_broken_one_is_ignored() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    base = Image.new("RGB", (16, 16), (200, 30, 40))
    for icc in (srgb, b"not an icc profile"):
        img = decode(encode(base, "JPEG", icc_profile=icc, quality=95), target=64)
        assert near(img.getpixel((8, 8)), (200, 30, 40), tol=6)
        assert "icc_profile" not in img.info and "exif" not in img.info


# ---- EXIF -------------------------------------------------------------------------------------------


def exif_bytes(orientation: int = 1, **exif_ifd: str) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    tags = {"original": 0x9003, "offset": 0x9011, "subsec": 0x9291, "digitized": 0x9004}
    for name, value in exif_ifd.items():
        if name == "datetime":
            exif[0x0132] = value
        else:
            exif.get_ifd(0x8769)[tags[name]] = value
    return exif.tobytes()


def test_orientation_6_is_applied_on_decode() -> None:
    img = Image.new("RGB", (60, 40), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 10, 10))  # red marks the stored top-left corner
    for fmt, save in (
        ("JPEG", {}),
        ("PNG", {}),
        ("WEBP", {}),
        ("TIFF", {}),
        ("TIFF", {"compression": "tiff_lzw"}),
    ):
        data = encode(img, fmt, exif=exif_bytes(6), **save)
        info = probe(data, max_pixels=MAX)
        assert (info.width, info.height, info.orientation) == (40, 60, 6)  # the upright size
        upright = decode(data, target=1024)
        assert upright.size == (40, 60)
        assert near(upright.getpixel((36, 3)), (255, 0, 0), tol=40)  # 90° clockwise: now top-right


def test_capture_time_with_offset_is_aware() -> None:
    data = encode(photo(), "JPEG", exif=exif_bytes(original="2023:08:14 17:05:09", offset="+09:00"))
    tokyo = timezone(timedelta(hours=9))
    assert probe(data, max_pixels=MAX).captured_at == datetime(2023, 8, 14, 17, 5, 9, tzinfo=tokyo)


def test_capture_time_without_offset_is_taken_as_utc_and_png_exif_is_read() -> None:
    data = encode(photo(), "PNG", exif=exif_bytes(original="2020:01:02 03:04:05", subsec="25"))
    assert probe(data, max_pixels=MAX).captured_at == datetime(2020, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)


def test_garbage_capture_time_falls_back_then_gives_none() -> None:
    fallback = exif_bytes(original="0000:00:00 00:00:00", digitized="2019:05:06 07:08:09")
    assert probe(encode(photo(), "JPEG", exif=fallback), max_pixels=MAX).captured_at == datetime(
        2019, 5, 6, 7, 8, 9, tzinfo=UTC
    )
    garbage = exif_bytes(original="    :  :     :  :  ", datetime="2021:13:45 99:00:00")
    assert probe(encode(photo(), "JPEG", exif=garbage), max_pixels=MAX).captured_at is None


def test_parse_exif_datetime_edge_cases() -> None:
    assert parse_exif_datetime(b"2001:02:03 04:05:06\x00", "-05:30") == datetime(
        2001, 2, 3, 4, 5, 6, tzinfo=timezone(-timedelta(hours=5, minutes=30))
    )
    assert parse_exif_datetime("2001:02:03 04:05:06", "+99:00") == datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert parse_exif_datetime("2016:12:31 23:59:60") == datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)
    for junk in (None, 42, "", "0000:00:00 00:00:00", "2001:02:30 00:00:00", "yesterday"):
        assert parse_exif_datetime(junk) is None


def test_out_of_range_orientation_counts_as_upright() -> None:
    info = probe(encode(photo(), "JPEG", exif=exif_bytes(orientation=9)), max_pixels=MAX)
    assert info.orientation == 1


# ---- bad input --------------------------------------------------------------------------------------


def test_zero_bytes_is_empty() -> None:
    assert rejected(b"").code == "empty"
    with pytest.raises(ImageRejected, match="empty"):
        decode(b"", target=64)


@pytest.mark.parametrize(
    ("data", "code", "says"),
    [
        (b"holiday photos, see attached\n", "not_an_image", "text"),
        (b"<!DOCTYPE html><html><body>403 Forbidden</body></html>", "not_an_image", "HTML"),
        (bytes(range(256)) * 4, "not_an_image", "binary"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "not_an_image", "PDF"),
        (b"BM this is text that starts like a bitmap", "not_an_image", "text"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "unsupported_format", "SVG"),
        (b"8BPS\x00\x01" + b"\x00" * 40, "unsupported_format", "Photoshop"),
    ],
)
def test_non_images_are_named_in_the_message(data: bytes, code: str, says: str) -> None:
    error = rejected(data)  # e.g. saved as holiday.jpg: the name is never consulted
    assert error.code == code and says in str(error)
    assert "upload" in str(error).lower()  # every message says what to do


def test_text_file_named_jpg_is_not_an_image() -> None:
    with pytest.raises(ImageRejected) as info:
        sniff(b"just some notes.jpg, honest\n")
    assert info.value.code == "not_an_image"


def test_truncated_jpeg_and_png() -> None:
    jpeg, png = encode(photo(), "JPEG"), encode(photo(), "PNG")
    for data in (jpeg, png):
        for cut in (len(data) // 3, len(data) - 200, len(data) - 2):
            assert rejected(data[:cut]).code == "truncated"
            with pytest.raises(ImageRejected, match="truncated"):
                decode(data[:cut], target=256)
    assert rejected(jpeg[:400]).code == "truncated"  # inside the header segments


def test_truncated_jpeg_is_caught_even_with_an_eoi_inside_its_metadata() -> None:
    # an EOI marker inside a comment (as inside an EXIF thumbnail) must not pass for the end of the image
    data = encode(photo(), "JPEG", comment=b"\xff\xd9 thumbnail end \xff\xd9")
    assert rejected(data[: len(data) // 2]).code == "truncated"


def test_progressive_jpeg_and_trailing_data_are_fine() -> None:
    progressive = encode(photo(), "JPEG", progressive=True)
    assert probe(progressive, max_pixels=MAX).width == 451
    assert rejected(progressive[:-300]).code == "truncated"
    motion_photo = encode(photo(), "JPEG") + b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 5000
    assert probe(motion_photo, max_pixels=MAX).media_type == "image/jpeg"


@pytest.mark.parametrize(
    ("fmt", "save"), [("TIFF", {}), ("TIFF", {"compression": "tiff_deflate"}), ("WEBP", {})]
)
def test_truncated_rarer_formats(fmt: str, save: dict[str, object]) -> None:
    data = encode(photo(), fmt, **save)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about a directory cut short
        assert rejected(data[: len(data) // 2]).code == "truncated"


def test_a_variant_pillow_cannot_decode_is_an_unsupported_format() -> None:
    data = bytearray(encode(Image.new("L", (8, 8)), "JPEG"))
    data[data.find(b"\xff\xc0") + 4] = 12  # SOF0 sample precision: 12-bit JPEG
    error = rejected(bytes(data))
    assert error.code == "unsupported_format" and "12-bit" in str(error)
    with pytest.raises(ImageRejected) as info:
        decode(bytes(data), target=8)
    assert info.value.code == "unsupported_format"


def test_float_rgb_tiff_is_an_unsupported_format() -> None:
    tifffile = pytest.importorskip("tifffile")  # installed with scikit-image
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.full((4, 5, 3), 0.5, np.float32), photometric="rgb")
    assert rejected(buf.getvalue()).code == "unsupported_format"


def test_bad_critical_png_checksum_is_corrupt() -> None:
    data = bytearray(encode(photo(), "PNG"))
    data[30] ^= 0xFF  # inside the IHDR chunk's CRC
    assert rejected(bytes(data)).code == "corrupt"


def test_too_large_bytes() -> None:
    error = rejected(encode(photo(), "PNG"), max_bytes=1000)
    assert error.code == "too_large_bytes"


def huge_png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)  # a lie: nowhere near enough pixel data
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    )


def huge_bmp(width: int, height: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + 64, 0, 0, 54) + info + b"\x00" * 64


def huge_gif(width: int, height: int) -> bytes:
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"," + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x4c\x01\x00;"
    return b"GIF89a" + screen + frame


@pytest.mark.parametrize("craft", [huge_png, huge_bmp, huge_gif])
def test_lying_header_is_refused_before_decoding(craft: object) -> None:
    assert callable(craft)
    data = craft(60000, 60000)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    assert rejected(data).code == "too_many_pixels"
    with pytest.raises(ImageRejected, match="megapixels"):
        decode(data, target=1024, max_pixels=MAX)
    assert time.perf_counter() - start < 0.5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 50_000  # KiB: nothing allocated


def test_100000_square_png_is_refused_quickly() -> None:
    start = time.perf_counter()
    error = rejected(huge_png(100_000, 100_000))
    assert error.code == "too_many_pixels" and "100000×100000" in str(error)
    assert time.perf_counter() - start < 0.5


def test_our_limit_decides_not_pillows_global() -> None:
    before = Image.MAX_IMAGE_PIXELS
    data = huge_png(20_000, 10_000)  # 200 MP: Image.open would raise DecompressionBombError
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nor may Pillow's DecompressionBombWarning fire
        assert probe(data, max_pixels=300_000_000).width == 20_000
    assert rejected(huge_png(300, 300), max_pixels=80_000).code == "too_many_pixels"
    assert before == Image.MAX_IMAGE_PIXELS


# ---- decode and renditions --------------------------------------------------------------------------


def check_renditions(img: Image.Image) -> None:
    made = {r.kind: r for r in renditions(img).renditions}
    assert set(made) == {"preview", "thumbnail"}
    aspect = img.width / img.height
    for kind, limit in (("preview", PREVIEW_MAX), ("thumbnail", THUMBNAIL_MAX)):
        r = made[kind]
        assert r.media_type == "image/jpeg" and r.width >= 1 and r.height >= 1
        assert max(r.width, r.height) <= min(limit, max(img.size))  # fits, never upscaled
        with Image.open(io.BytesIO(r.data)) as back:
            assert (back.format, back.size, back.mode) == ("JPEG", (r.width, r.height), "RGB")
        if min(r.width, r.height) > 20:
            assert abs(r.width / r.height - aspect) / aspect < 0.02


@pytest.mark.parametrize("size", [(1, 1), (5000, 3), (3, 5000), (300, 200), (1024, 1024), (4000, 3000)])
def test_renditions_fit_keep_aspect_and_never_upscale(size: tuple[int, int]) -> None:
    img = decode(encode(Image.new("RGB", size, (30, 120, 200)), "PNG"), target=PREVIEW_MAX)
    assert img.size == (size if max(size) <= PREVIEW_MAX else img.size)
    assert max(img.size) <= PREVIEW_MAX and min(img.size) >= 1
    check_renditions(img)


def test_renditions_of_a_real_photo() -> None:
    img = decode(encode(photo((2400, 1596)), "JPEG", quality=90), target=PREVIEW_MAX)
    assert img.size == (1024, 681)
    made = {r.kind: r for r in renditions(img).renditions}
    assert (made["preview"].width, made["preview"].height) == (1024, 681)
    assert (made["thumbnail"].width, made["thumbnail"].height) == (256, 171)  # box-averaged by 4
    check_renditions(img)


def test_animated_gif_and_webp_give_the_first_frame() -> None:
    frames = [Image.new("RGB", (32, 24), c) for c in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]
    for fmt in ("GIF", "WEBP"):
        data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
        assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3
        assert probe(data, max_pixels=MAX).media_type == f"image/{fmt.lower()}"
        assert near(decode(data, target=64).getpixel((16, 12)), (255, 0, 0))


def test_large_jpeg_decodes_through_draft_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    data = large_jpeg()
    drafted: list[tuple[int, int]] = []
    real_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self: JpegImagePlugin.JpegImageFile, mode: str | None, size: tuple[int, int] | None) -> object:
        result = real_draft(self, mode, size)
        drafted.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    for target, expected in (
        (1024, (2000, 1500)),
        (224, (500, 375)),
        (1500, (2000, 1500)),
        (3000, (4000, 3000)),
    ):
        drafted.clear()
        img = decode(data, target=target)
        assert max(img.size) == target and img.mode == "RGB"
        assert drafted == ([expected] if target < 4000 else [])
        assert max(expected) >= target  # the DCT scale never drops the long side below the target


def test_floor_lets_the_dct_scale_stop_below_the_target() -> None:
    data = large_jpeg()  # 4000x3000: 1/4 scale gives 1000 px, inside [768, 1024]; no resample needed
    assert decode(data, target=1024, floor=768).size == (1000, 750)
    assert decode(data, target=1024, floor=1001).size == (1024, 768)  # 1/4 is too small: 1/2, then resize


def test_draft_keeps_the_long_side_of_panoramas() -> None:
    # a square box would let the short side decide: 12000x1500 at (1024, 1024) stays at scale 1
    with Image.open(io.BytesIO(encode(Image.new("RGB", (12000, 1500), (9, 9, 9)), "JPEG"))) as img:
        draft_for(img, 1024)
        assert img.size == (1500, 188)


def test_large_jpeg_decode_is_fast() -> None:
    data = large_jpeg()
    start = time.perf_counter()
    Image.open(io.BytesIO(data)).load()
    full = time.perf_counter() - start
    start = time.perf_counter()
    decode(data, target=224)
    assert time.perf_counter() - start < full  # 1/8-scale DCT: far less work than a full decode


def test_probe_of_a_12_megapixel_jpeg_does_not_decode() -> None:
    data = large_jpeg(exif=exif_bytes(6, original="2024:02:29 12:00:00"))
    start = time.perf_counter()
    info = probe(data, max_pixels=MAX)
    assert time.perf_counter() - start < 0.1  # a marker walk, no pixels (≈2 ms here)
    assert (info.width, info.height, info.orientation) == (3000, 4000, 6)
    assert oriented_size(info.width, info.height, info.orientation) == (4000, 3000)
    assert info.captured_at == datetime(2024, 2, 29, 12, tzinfo=UTC)
    assert decode(data, target=1024).size == (768, 1024)


def test_threads_get_the_same_answers() -> None:
    inputs = [
        encode(photo(), "JPEG"),
        encode(photo(), "PNG"),
        encode(photo(), "WEBP"),
        encode(photo(), "JPEG")[:5000],
        huge_png(20_000, 20_000),
        b"not an image",
    ]

    def outcome(data: bytes) -> object:
        try:
            return probe(data, max_pixels=MAX), decode(data, target=128).tobytes()
        except ImageRejected as exc:
            return exc.code

    expected = [outcome(d) for d in inputs]
    with ThreadPoolExecutor(max_workers=6) as pool:
        assert list(pool.map(outcome, inputs * 4)) == expected * 4


def test_the_decoder_gets_a_jpeg_in_one_call_with_the_same_pixels() -> None:
    """open_image lets load() hand libjpeg the whole file (Pillow's 64 KiB blocks each take the GIL back);
    the pixels are those of Pillow's own block-by-block load, progressive files included."""
    from indexer.imaging import open_image

    tiled = np.tile(samples.astronaut(), (2, 2, 1))
    grain = np.random.default_rng(5).normal(0, 12, tiled.shape)
    photo = np.clip(tiled + grain, 0, 255).astype(np.uint8)  # compresses like a camera file
    for save in ({"quality": 90}, {"quality": 80, "progressive": True}):
        buf = io.BytesIO()
        Image.fromarray(photo).save(buf, "JPEG", **save)
        data = buf.getvalue()
        assert len(data) > 65536  # more than one default block
        with open_image(data, "image/jpeg") as img:
            assert img.decodermaxblock >= len(data)
            img.load()
            ours = img.tobytes()
        with Image.open(io.BytesIO(data)) as plain:
            assert ours == plain.tobytes()


@pytest.mark.parametrize("memfd", [True, False])
def test_jpeg_encoding_off_the_gil_gives_pillows_bytes(memfd: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """encode_jpeg writes a large picture through a real file descriptor (this thread's memfd, or a
    temporary file where there is none) so Pillow releases the GIL, a thumbnail into a BytesIO; the bytes
    are those of an encode into a BytesIO, again and again (the file is reused: no bytes of an earlier,
    larger picture remain)."""
    import threading

    from indexer import renditions as module

    monkeypatch.setattr(module, "_scratch", threading.local())
    if not memfd:
        monkeypatch.delattr(os, "memfd_create", raising=False)
    large = Image.fromarray(np.tile(samples.astronaut(), (2, 2, 1)))
    for img in (large, large.resize((600, 450)), large.resize((250, 188))):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=module.JPEG_QUALITY, optimize=False, progressive=False)
        assert module.encode_jpeg(img) == buf.getvalue()
