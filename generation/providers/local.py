"""The offline provider: captions composed from the brief, images drawn with Pillow.

It needs no network and no key, so the app works out of the box; it is also what the
orchestration benchmark runs on. Captions vary across a batch by construction: the
post's position picks its angle, hook and closing, and no two positions below
len(ANGLES) * len(HOOKS) * len(CLOSERS) share all three.
"""

import asyncio
import io
import random
import textwrap
from functools import lru_cache, partial

from PIL import Image, ImageDraw, ImageOps

from campaigns.platforms import rules_for
from generation import fonts, linebreak
from generation.prompts import ANGLES
from generation.providers.base import Brief, CaptionRequest, CaptionResult, ImageRequest, ImageResult

# One hook per angle (same order as ANGLES), four wordings each.
HOOKS = (
    ("{Kw}, done right.", "Here is why {kw} matters now.", "{Kw} just got easier.", "Say hello to better {kw}."),
    (
        "Ever wondered about {kw}?",
        "What if {kw} felt effortless?",
        "Still searching for {kw}?",
        "Why settle for less {kw}?",
    ),
    (
        "“I didn't expect {kw} to change my week.”",
        "Meet one of our favourite {kw} stories.",
        "A real story about {kw}.",
        "This is how {kw} won them over.",
    ),
    (
        "Fact: {kw} is more popular than ever.",
        "Did you know? {Kw} is on the rise.",
        "Here is a number about {kw} worth a look.",
        "The surprising truth about {kw}.",
    ),
    (
        "A peek behind the scenes of {kw}.",
        "How we make {kw} happen.",
        "Backstage: the people behind {kw}.",
        "What goes into {kw}? Let us show you.",
    ),
    (
        "{Kw} in three easy steps.",
        "Try this: a simple {kw} routine.",
        "Quick tip for better {kw}.",
        "Three ways to enjoy {kw} today.",
    ),
    (
        "Myth: {kw} is complicated.",
        "They say {kw} is hard. It isn't.",
        "Let's clear up a {kw} myth.",
        "Forget what you heard about {kw}.",
    ),
    ("Only for a short while: {kw}.", "Don't miss out on {kw}.", "Last call for {kw}.", "This week only: {kw}."),
    (
        "Before: no {kw}. After: all smiles.",
        "Yesterday vs. today: {kw}.",
        "Spot the difference {kw} makes.",
        "Then and now, thanks to {kw}.",
    ),
    (
        "Shout-out to our {kw} community!",
        "You make {kw} what it is.",
        "To everyone who loves {kw}: thank you.",
        "Our {kw} crowd is the best crowd.",
    ),
    (
        "We dare you to try {kw}.",
        "Challenge accepted: {kw}.",
        "Up for a {kw} challenge?",
        "Tag a friend who needs {kw}.",
    ),
    (
        "Great things start with {kw}.",
        "Small steps, big {kw}.",
        "Make today a {kw} day.",
        "Dream big, start with {kw}.",
    ),
)
CLOSERS = (
    "Made for {audience}.",
    "Built with {audience} in mind.",
    "{Audience}, this one's for you.",
    "Perfect for {audience}.",
    "Loved by {audience}.",
)
EMOJI = ("✨", "🚀", "🔥", "💡", "🎉", "🙌", "🌟", "👉")
_PLATFORMS_WITH_EMOJI = {"instagram", "tiktok", "facebook", "x"}

assert len(HOOKS) == len(ANGLES)


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _first_sentence(text: str, limit: int = 220) -> str:
    text = " ".join(text.split())
    for end in (". ", "! ", "? "):
        if end in text:
            text = text.split(end, 1)[0] + end.strip()
            break
    return textwrap.shorten(text, limit, placeholder="…")


def compose_caption(brief: Brief, platform: str, variant: int, seed: int) -> tuple[str, str]:
    """Return (caption, headline) for one post; deterministic for a given variant and seed."""
    rng = random.Random(seed * 7919 + variant)
    angle = variant % len(ANGLES)
    hook_index = (variant // len(ANGLES)) % len(HOOKS[angle])
    closer_index = (variant // (len(ANGLES) * len(HOOKS[angle]))) % len(CLOSERS)
    keywords = list(brief.keywords) or [brief.name]
    keyword = keywords[(variant + seed) % len(keywords)]
    audience = brief.target_audience.strip().rstrip(".") or "people like you"

    hook = HOOKS[angle][hook_index].format(kw=keyword, Kw=_capitalize(keyword))
    parts = [hook, _first_sentence(brief.brief)]
    if brief.tone:
        tone = brief.tone.split(",")[0].strip().lower()
        parts.append(rng.choice(("Always {t}.", "Simply {t}.", "Honest and {t}.")).format(t=tone))
    parts.append(CLOSERS[closer_index].format(audience=audience, Audience=_capitalize(audience)))
    extra = [k for k in keywords if k != keyword]
    if extra and platform != "x":
        parts.append(f"Also on the menu: {', '.join(extra[:3])}.")
    if brief.call_to_action:
        parts.append(brief.call_to_action.strip())
    separator = "\n\n" if platform in ("instagram", "linkedin") else " "
    caption = separator.join(parts)
    if platform in _PLATFORMS_WITH_EMOJI:
        caption = f"{rng.choice(EMOJI)} {caption}"
    headline = textwrap.shorten(hook, 60, placeholder="…")
    return caption, headline


def compose_hashtags(brief: Brief, platform: str, variant: int) -> list[str]:
    tags = list(brief.hashtags)
    for keyword in brief.keywords[variant % max(len(brief.keywords), 1) :] + brief.keywords:
        tags.append("#" + "".join(word.capitalize() for word in keyword.split()))
    tags.append("#" + "".join(word.capitalize() for word in brief.name.split()))
    return tags[: rules_for(platform).max_hashtags + 2]


def _hex_to_rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    try:
        return (int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16))
    except (ValueError, IndexError):
        return (47, 91, 234)


def _shade(rgb: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    if factor < 1:
        return tuple(int(c * factor) for c in rgb)
    return tuple(int(c + (255 - c) * (factor - 1)) for c in rgb)


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
        caption, headline = compose_caption(request.brief, request.platform, request.variant, request.seed)
        hashtags = compose_hashtags(request.brief, request.platform, request.variant)
        image_prompt = f"{headline} — {request.brief.name}, {ANGLES[request.variant % len(ANGLES)]}"
        return CaptionResult(caption=caption, hashtags=hashtags, headline=headline, image_prompt=image_prompt)

    async def image(self, request: ImageRequest) -> ImageResult:
        # Drawing and JPEG encoding are CPU work; Pillow releases the GIL for most of it.
        data = await asyncio.to_thread(
            draw_image, request.brief, request.headline, request.width, request.height, request.seed
        )
        return ImageResult(data=data, fitted=True)

    async def aclose(self) -> None:
        return None
