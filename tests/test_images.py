"""Fitting a provider's image to its platform: size, centred crop, orientation, and what is refused."""

import io

import pytest
from PIL import Image

from generation.images import MAX_PIXELS, fit_to_size, thumbnail_of
from generation.providers.base import FailureReason, TransientProviderError
from shared.platforms import RULES


def encoded(image: Image.Image, kind: str = "PNG", **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind, **params)
    return buffer.getvalue()


def three_bands(width: int, height: int, *, vertical: bool) -> Image.Image:
    """Red, green, blue thirds: left to right (vertical bands) or top to bottom."""
    image = Image.new("RGB", (width, height))
    for index, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        if vertical:
            image.paste(colour, (index * width // 3, 0, (index + 1) * width // 3, height))
        else:
            image.paste(colour, (0, index * height // 3, width, (index + 1) * height // 3))
    return image


def pixel(data: bytes, x: float, y: float) -> tuple[int, int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB").getpixel((int(x * (image.width - 1)), int(y * (image.height - 1))))


def dominant(rgb: tuple[int, int, int]) -> str:
    return "rgb"[max(range(3), key=lambda channel: rgb[channel])]


@pytest.mark.parametrize("platform", sorted(RULES))
@pytest.mark.parametrize("source_size", [(256, 256), (1024, 1536), (1536, 1024), (3000, 2000)])
def test_every_platform_gets_its_exact_size_as_a_jpeg(platform, source_size):
    rules = RULES[platform]
    data = fit_to_size(encoded(Image.new("RGB", source_size, (30, 90, 160))), rules.image_width, rules.image_height)
    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.mode, image.size) == ("JPEG", "RGB", rules.image_size)


def framed(width: int, height: int, kept: tuple[int, int]) -> Image.Image:
    """Red, with a green centred region of size `kept`: what a centred crop should keep."""
    image = Image.new("RGB", (width, height), (255, 0, 0))
    left, top = (width - kept[0]) // 2, (height - kept[1]) // 2
    image.paste((0, 255, 0), (left, top, left + kept[0], top + kept[1]))
    return image


@pytest.mark.parametrize(
    ("source", "target", "kept"),
    [
        ((1536, 1024), (1080, 1350), (819, 1024)),  # wide into portrait: the sides go
        ((1024, 1536), (1600, 900), (1024, 576)),  # tall into landscape: top and bottom go
    ],
)
def test_the_crop_keeps_the_centre_with_the_target_s_proportions(source, target, kept):
    data = fit_to_size(encoded(framed(*source, kept)), *target)
    edges = [(x, y) for x in (0.01, 0.5, 0.99) for y in (0.01, 0.5, 0.99)]
    assert {dominant(pixel(data, x, y)) for x, y in edges} == {"g"}


@pytest.mark.parametrize("scale", [0.25, 2.0], ids=["enlarged", "reduced"])
def test_both_resampling_directions_keep_the_picture(scale):
    width, height = 1080, 1350
    source = three_bands(round(width * scale), round(height * scale), vertical=True)
    data = fit_to_size(encoded(source), width, height)
    assert [dominant(pixel(data, x, 0.5)) for x in (0.1, 0.5, 0.9)] == ["r", "g", "b"]


def test_an_exif_orientation_is_applied_before_cropping():
    # Stored sideways (bands top to bottom) with "rotate 90° clockwise to view": seen upright,
    # the bands run right to left, so after the fit red is on the right.
    stored = three_bands(600, 900, vertical=False)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = fit_to_size(encoded(stored, "JPEG", exif=exif.tobytes()), 900, 600)
    assert [dominant(pixel(data, x, 0.5)) for x in (0.1, 0.5, 0.9)] == ["b", "g", "r"]


@pytest.mark.parametrize("mode", ["RGBA", "P", "L", "CMYK"])
def test_other_colour_modes_are_converted(mode):
    source = Image.new("RGB", (300, 300), (200, 40, 40)).convert(mode)
    kind = "JPEG" if mode == "CMYK" else "PNG"
    data = fit_to_size(encoded(source, kind), 1200, 627)
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "RGB"


def test_truncated_and_unreadable_images_are_transient_errors():
    whole = encoded(Image.new("RGB", (256, 256), (10, 20, 30)))
    for data in (whole[: len(whole) // 2], b"<html>not an image</html>", b""):
        with pytest.raises(TransientProviderError) as caught:
            fit_to_size(data, 1080, 1350)
        assert caught.value.code == FailureReason.MALFORMED


def test_an_image_beyond_the_pixel_limit_is_refused_before_it_is_decoded():
    side = int(MAX_PIXELS**0.5) + 10
    with pytest.raises(TransientProviderError, match="too large"):
        fit_to_size(encoded(Image.new("L", (side, side))), 1080, 1350)


@pytest.mark.parametrize("size", [(1080, 1350), (1600, 900), (1080, 1920)])
def test_thumbnails_are_480_wide_with_the_image_s_proportions(size):
    data = fit_to_size(encoded(three_bands(*size, vertical=True)), *size)
    with Image.open(io.BytesIO(thumbnail_of(data))) as thumbnail:
        assert thumbnail.format == "JPEG"
        assert thumbnail.width == 480
        assert thumbnail.height == round(size[1] * 480 / size[0])
