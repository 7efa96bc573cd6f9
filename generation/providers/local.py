"""The offline provider: captions composed from the brief in the campaign's language, images drawn with Pillow.

It needs no network and no key, so the app works out of the box; it is also what the
orchestration benchmark runs on. The wording comes from phrases/<language>.json, one file
per language the app offers, each written in its language rather than translated from the
English one; the brief's own words fill it in, so a post never mixes languages. Captions
vary across a batch by construction: the post's position picks its angle, hook and closing,
and no two positions below len(ANGLES) * hooks per angle * closers share all three.
"""

import asyncio
import io
import json
import random
import re
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

from generation import fonts, linebreak
from generation.prompts import ANGLES
from generation.providers.base import Brief, CaptionRequest, CaptionResult, ImageRequest, ImageResult
from shared.platforms import TARGET_CAPTION_CHARS, caption_budget, normalize_hashtags, rules_for

PHRASES_DIR = Path(__file__).parent / "phrases"
DEFAULT_LANGUAGE = "en"
EMOJI = ("✨", "🚀", "🔥", "💡", "🎉", "🙌", "🌟", "👉")
_PLATFORMS_WITH_EMOJI = {"instagram", "tiktok", "facebook", "x"}


@dataclass(frozen=True)
class Phrasebook:
    """One language's phrase material. Placeholders: {kw}/{Kw}, {tone}/{Tone}, {audience}/{Audience}, {keywords}."""

    language: str
    hooks: tuple[tuple[str, ...], ...]  # one group per angle, in the order of prompts.ANGLES
    tones: tuple[str, ...]
    closers: tuple[str, ...]
    closers_without_audience: tuple[str, ...]  # when the campaign names no audience
    more: str  # the other keywords
    word_separator: str  # between sentences on one line: a space, or nothing in Japanese
    list_separator: str


def _load_phrasebook(path: Path) -> Phrasebook:
    data = json.loads(path.read_text(encoding="utf-8"))
    book = Phrasebook(
        language=data["language"],
        hooks=tuple(tuple(group) for group in data["hooks"]),
        tones=tuple(data["tones"]),
        closers=tuple(data["closers"]),
        closers_without_audience=tuple(data["closers_without_audience"]),
        more=data["more"],
        word_separator=data["word_separator"],
        list_separator=data["list_separator"],
    )
    if book.language != path.stem:
        raise ValueError(f"{path.name} says it is {book.language!r}")
    if len(book.hooks) != len(ANGLES) or not all(book.hooks):
        raise ValueError(f"{path.name}: needs a group of hooks for each of the {len(ANGLES)} angles")
    if not book.tones or not book.closers or len(book.closers) != len(book.closers_without_audience):
        raise ValueError(f"{path.name}: needs tones, and as many closers without an audience as with one")
    return book


# Read once, when the provider is first imported.
PHRASEBOOKS: dict[str, Phrasebook] = {path.stem: _load_phrasebook(path) for path in sorted(PHRASES_DIR.glob("*.json"))}


def phrasebook_for(language: str) -> Phrasebook:
    return PHRASEBOOKS.get(language) or PHRASEBOOKS[DEFAULT_LANGUAGE]


def _capitalize(text: str, language: str) -> str:
    if language == "nl" and text[:2].lower() == "ij":
        return "IJ" + text[2:]  # one letter in Dutch: "IJskoffie"
    return text[:1].upper() + text[1:]


# A sentence ends at . ! ? before a space, or at Japanese 。！？ unless a closing quote follows.
_SENTENCE_END = re.compile(r"[.!?](?=\s)|[。！？](?![」』）])")
_LIST_SEPARATORS = re.compile(r"[,;、，]")


def _first_sentence(text: str, limit: int = 220) -> str:
    text = linebreak.tidy(text)
    end = _SENTENCE_END.search(text)
    if end:
        text = text[: end.end()]
    return linebreak.shorten(text, limit)


def compose_caption(
    brief: Brief, platform: str, variant: int, seed: int, *, max_chars: int | None = None
) -> tuple[str, str]:
    """Return (caption, headline) for one post; deterministic for a given variant and seed.

    The caption stays within max_chars (the platform's target by default): the other
    keywords, the tone and the closing go first, then the brief's sentence is shortened.
    """
    book = phrasebook_for(brief.language)
    rng = random.Random(seed * 7919 + variant)
    angle = variant % len(ANGLES)
    hooks = book.hooks[angle]
    hook_index = (variant // len(ANGLES)) % len(hooks)
    keywords = list(brief.keywords) or [brief.name]
    keyword = keywords[(variant + seed) % len(keywords)]
    audience = brief.target_audience.strip().rstrip(".。")
    closers = book.closers if audience else book.closers_without_audience
    closer_index = (variant // (len(ANGLES) * len(hooks))) % len(closers)

    hook = hooks[hook_index].format(kw=keyword, Kw=_capitalize(keyword, book.language))
    tone = _LIST_SEPARATORS.split(brief.tone)[0].strip().lower()
    tone_line = rng.choice(book.tones).format(tone=tone, Tone=_capitalize(tone, book.language)) if tone else ""
    closer = closers[closer_index].format(audience=audience, Audience=_capitalize(audience, book.language))
    extra = [k for k in keywords if k != keyword]
    more = book.more.format(keywords=book.list_separator.join(extra[:3])) if extra and platform != "x" else ""
    parts = [hook, _first_sentence(brief.brief), tone_line, closer, more, brief.call_to_action.strip()]

    prefix = f"{rng.choice(EMOJI)} " if platform in _PLATFORMS_WITH_EMOJI else ""
    separator = "\n\n" if platform in ("instagram", "linkedin") else book.word_separator

    def assemble(chosen: list[str]) -> str:
        return prefix + separator.join(part for part in chosen if part)

    limit = max_chars or TARGET_CAPTION_CHARS[platform]
    for optional in (4, 2, 3):  # the other keywords, the tone, the closing
        if len(assemble(parts)) <= limit:
            break
        parts[optional] = ""
    if len(assemble(parts)) > limit:
        room = limit - len(assemble([parts[0], *parts[2:]])) - len(separator)
        parts[1] = linebreak.shorten(parts[1], room) if room >= 20 else ""
    headline = linebreak.shorten(hook, 60)
    return assemble(parts), headline


def compose_hashtags(brief: Brief, platform: str, variant: int) -> list[str]:
    """The campaign's own hashtags, then its keywords' (rotating with the variant), then its name's."""
    keywords = list(brief.keywords)
    rotated = keywords[variant % max(len(keywords), 1) :] + keywords
    tags = normalize_hashtags([*brief.hashtags, *rotated, brief.name], platform, cap=False)
    return tags[: rules_for(platform).max_hashtags + 2]


def write_caption(request: CaptionRequest) -> CaptionResult:
    """The caption, hashtags and headline for one post, short enough for the platform with its hashtags.

    A regeneration (a later attempt) moves to another angle, and on until the caption differs from
    the one it replaces: "New caption" never hands back the same text.
    """
    brief = request.brief
    for shift in range(len(ANGLES) * 2):
        variant = request.variant + request.attempt + shift
        hashtags = compose_hashtags(brief, request.platform, variant)
        room = caption_budget(request.platform, normalize_hashtags(hashtags, request.platform))
        caption, headline = compose_caption(
            brief, request.platform, variant, request.seed + shift, max_chars=min(request.target_chars, room)
        )
        if caption.strip() != request.avoid_caption.strip():
            break
    image_prompt = f"{headline} — {brief.name}"
    return CaptionResult(caption=caption, hashtags=hashtags, headline=headline, image_prompt=image_prompt)


def _hex_to_rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    try:
        return (int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16))
    except (ValueError, IndexError):
        return (47, 91, 234)


def _shade(rgb: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    def shade(channel: int) -> int:
        return int(channel * factor) if factor < 1 else int(channel + (255 - channel) * (factor - 1))

    red, green, blue = rgb
    return (shade(red), shade(green), shade(blue))


@lru_cache(maxsize=8)
def _gradient(width: int, height: int) -> Image.Image:
    return Image.linear_gradient("L").resize((width, height))


HEADLINE_WEIGHT = 700
NAME_WEIGHT = 600
HEADLINE_LINES = 4


def headline_lines(headline: str, max_width: float, size: int) -> tuple[int, list[str]]:
    """(size, lines) for the headline: the largest size down to 60 % at which it takes at most
    HEADLINE_LINES lines without breaking a word; else the smallest, cut with an ellipsis."""
    for step in range(5):
        scaled = max(round(size * (1 - step / 10)), 10)
        measure = partial(fonts.measure, size=scaled, weight=HEADLINE_WEIGHT)
        if linebreak.fits_unbroken(headline, max_width, measure):
            lines = linebreak.wrap(headline, max_width, measure)
            if len(lines) <= HEADLINE_LINES:
                return scaled, lines
    lines = linebreak.wrap(headline, max_width, measure)
    if len(lines) > HEADLINE_LINES:
        last = linebreak.truncate(lines[HEADLINE_LINES - 1] + linebreak.ELLIPSIS, max_width, measure)
        lines = [*lines[: HEADLINE_LINES - 1], last]
    return scaled, lines


def draw_image(brief: Brief, headline: str, width: int, height: int, variant: int) -> bytes:
    """A JPEG at exactly width x height: brand-colour gradient, shapes, headline, campaign name."""
    base = _hex_to_rgb(brief.brand_color)
    image = ImageOps.colorize(_gradient(width, height), _shade(base, 0.55), _shade(base, 1.25))
    draw = ImageDraw.Draw(image)
    unit = min(width, height)
    rng = random.Random(variant)
    for _ in range(3):
        radius = int(unit * rng.uniform(0.12, 0.3))
        x, y = rng.randint(0, width), rng.randint(0, height)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=_shade(base, rng.uniform(0.7, 1.15)))
    margin = unit // 12
    text_width = width - 2 * margin
    size, lines = headline_lines(fonts.drawable(headline), text_width, max(unit // 14, 12))
    line_height = round(size * 1.3)
    baseline = (height - len(lines) * line_height) // 2 + size
    for line in lines:
        fonts.draw_line(draw, (margin, baseline), line, size=size, weight=HEADLINE_WEIGHT, fill=(255, 255, 255))
        baseline += line_height
    name_size = max(unit // 30, 10)
    name = linebreak.truncate(
        fonts.drawable(brief.name), text_width, partial(fonts.measure, size=name_size, weight=NAME_WEIGHT)
    )
    fonts.draw_line(draw, (margin, height - margin), name, size=name_size, weight=NAME_WEIGHT, fill=(240, 240, 240))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=82)
    return buffer.getvalue()


class LocalProvider:
    name = "local"
    text_model = "local-composer"
    image_model = "local-pillow"
    uses_network = False

    async def caption(self, request: CaptionRequest) -> CaptionResult:
        return write_caption(request)

    async def image(self, request: ImageRequest) -> ImageResult:
        # Drawing and JPEG encoding are CPU work; Pillow releases the GIL for most of it.
        data = await asyncio.to_thread(
            draw_image, request.brief, request.headline, request.width, request.height, request.seed
        )
        return ImageResult(data=data, fitted=True)

    async def aclose(self) -> None:
        return None
