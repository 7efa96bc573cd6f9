"""Fit a provider's image to its platform, and store it through Django's storage API."""

import io
import logging
import secrets

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageOps, UnidentifiedImageError

from generation.providers.base import FailureReason, TransientProviderError

log = logging.getLogger(__name__)

JPEG_QUALITY = 85
# Refuse decompression bombs well before Pillow's own limit: no provider sends 50 MP.
MAX_PIXELS = 40_000_000
ORIENTATION = 0x0112  # the EXIF tag


def fit_to_size(data: bytes, width: int, height: int) -> bytes:
    """Centre-crop and resize image bytes to width x height, returned as an optimised JPEG.

    A truncated or unreadable image is a transient provider error: asking again usually works.
    """
    try:
        with Image.open(io.BytesIO(data)) as source:
            if source.width * source.height > MAX_PIXELS:
                raise TransientProviderError(
                    f"image too large ({source.width}x{source.height})", code=FailureReason.MALFORMED
                )
            source.load()
            # exif_transpose copies the whole image even when it has nothing to turn.
            image = ImageOps.exif_transpose(source) if source.getexif().get(ORIENTATION, 1) != 1 else source
            if image.mode != "RGB":
                image = image.convert("RGB")
            fitted = _resize_centred(image, width, height)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise TransientProviderError(f"unreadable image from provider ({exc})", code=FailureReason.MALFORMED) from None
    buffer = io.BytesIO()
    # Baseline, not progressive: progressive encoding took 2.5x the CPU of the whole encode for
    # files no smaller than optimize=True makes them (see BENCHMARKS.md).
    fitted.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()


def _resize_centred(image: Image.Image, width: int, height: int) -> Image.Image:
    """The largest centred region of `image` with the target's aspect ratio, resized to width x height.

    One resampling pass over that region (no cropped copy first). Lanczos where the image
    shrinks, so that fine detail does not alias; bicubic where it grows, which looks the same
    there (no aliasing to suppress) for about a quarter less CPU (see BENCHMARKS.md).
    """
    scale = max(width / image.width, height / image.height)
    region_width, region_height = width / scale, height / scale
    left, top = (image.width - region_width) / 2, (image.height - region_height) / 2
    method = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
    return image.resize((width, height), method, box=(left, top, left + region_width, top + region_height))


THUMBNAIL_WIDTH = 480


def thumbnail_of(data: bytes) -> bytes:
    """A small JPEG copy for grids and change lists, made once when the image is stored."""
    with Image.open(io.BytesIO(data)) as image:
        # A JPEG decodes at 1/2, 1/4 or 1/8 scale for a fraction of the work. Only the width
        # decides the scale (the height follows the aspect ratio): asking for a height as well
        # made portrait and landscape images decode at full size.
        image.draft("RGB", (THUMBNAIL_WIDTH, 1))
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        height = round(rgb.height * THUMBNAIL_WIDTH / rgb.width)
        small = rgb.resize((THUMBNAIL_WIDTH, height), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=78)
    return buffer.getvalue()


def store_post_image(campaign_id: int, post_id: int, data: bytes) -> tuple[str, str]:
    """Save a post's JPEG and its thumbnail under fresh names; return both storage names."""
    # 128 random bits: a name is never guessed, even by someone who knows the campaign and post ids.
    stem = f"posts/{campaign_id}/{post_id}-{secrets.token_hex(16)}"
    name = default_storage.save(f"{stem}.jpg", ContentFile(data))
    thumbnail = default_storage.save(f"{stem}-thumb.jpg", ContentFile(thumbnail_of(data)))
    return name, thumbnail


def delete_stored_images(names: list[str]) -> None:
    """Delete files nothing points to any more (replaced or dropped results); one that can't go is
    logged and left for sweep_images."""
    for name in filter(None, names):
        try:
            default_storage.delete(name)
        except OSError:
            log.warning("could not delete the image %s", name)
