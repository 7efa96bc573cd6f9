"""Images draw every script the app offers: each character with a font that has a glyph for it, emoji left out.

The images are saved under SCREENSHOT_DIR (test-artifacts/screenshots by default;
SCREENSHOT_DIR=tests/screenshots refreshes the ones in the repository) to be looked at.
"""

import dataclasses
import io
import os
from functools import cache, partial
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

from generation import fonts
from generation.linebreak import NO_LINE_START
from generation.providers.base import Brief
from generation.providers.local import HEADLINE_WEIGHT, draw_image, headline_lines
from shared.platforms import RULES

SCREENSHOT_DIR = Path(
    os.environ.get("SCREENSHOT_DIR") or Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
)

BRIEF = Brief(
    campaign_id=1,
    name="",
    brief="",
    target_audience="",
    tone="",
    language="en",
    keywords=(),
    hashtags=(),
    call_to_action="",
    brand_color="#2F5BEA",
)

# (file name, platform, headline and campaign name, what must be drawn of it)
CASES = [
    ("es", "instagram", "Lanzamiento Café Frío", "Lanzamiento Café Frío"),
    ("fr", "x", "Été brûlant", "Été brûlant"),
    ("de", "linkedin", "Größe", "Größe"),
    ("ja", "tiktok", "夏のコールドブリュー", "夏のコールドブリュー"),
    ("pl", "facebook", "Zażółć gęślą jaźń, Smörgåsbord", "Zażółć gęślą jaźń, Smörgåsbord"),
    ("emoji", "instagram", "Summer 🚀 Launch ✨ ☕️ 👩‍👩‍👧 🇯🇵", "Summer Launch"),
]


@cache
def character_map(path: str) -> frozenset[int]:
    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap())


def notdef_mask(font: ImageFont.FreeTypeFont) -> bytes:
    # U+10FFFF is a noncharacter: no font maps it, so this is the font's "missing glyph" box.
    return bytes(font.getmask("\U0010ffff"))


@pytest.fixture
def drawn(monkeypatch):
    """Every (text, font) that Pillow is asked to draw."""
    calls: list[tuple[str, ImageFont.FreeTypeFont]] = []
    original = ImageDraw.ImageDraw.text

    def recording_text(self, xy, text, *args, font=None, **kwargs):
        calls.append((text, font))
        return original(self, xy, text, *args, font=font, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", recording_text)
    return calls


@pytest.mark.parametrize(("name", "platform", "text", "expected"), CASES, ids=[case[0] for case in CASES])
def test_every_character_drawn_has_a_glyph_in_the_font_that_draws_it(drawn, name, platform, text, expected):
    rules = RULES[platform]
    data = draw_image(dataclasses.replace(BRIEF, name=text), text, rules.image_width, rules.image_height, 3)
    image = Image.open(io.BytesIO(data))
    assert image.size == rules.image_size
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    (SCREENSHOT_DIR / f"image-{name}.jpg").write_bytes(data)

    assert drawn, "nothing was drawn"
    for run, font in drawn:
        assert isinstance(font, ImageFont.FreeTypeFont)
        glyphs = character_map(font.path)
        missing = [char for char in run if ord(char) not in glyphs]
        assert not missing, f"{font.path} has no glyph for {missing} in {run!r}"
        # Pillow agrees: no character comes out as the font's missing-glyph box.
        boxes = [char for char in run if not char.isspace() and bytes(font.getmask(char)) == notdef_mask(font)]
        assert not boxes, f"{boxes} drawn as boxes with {font.path}"
    # Everything but the emoji was drawn: the headline (on one line or several), then the name.
    letters = "".join(run for run, _ in drawn).replace(" ", "")
    assert letters == expected.replace(" ", "") * 2


def test_japanese_is_drawn_with_the_cjk_font_and_accents_with_noto_sans(drawn):
    draw_image(dataclasses.replace(BRIEF, name="Café"), "夏のCafé", 1080, 1350, 1)
    by_font = {(run, Path(font.path).name) for run, font in drawn}
    assert ("夏の", "NotoSansCJKjp-Bold.otf") in by_font
    assert ("Café", "NotoSans[wdth,wght].ttf") in by_font


def test_emoji_and_their_joiners_are_left_out_and_the_spaces_tidied():
    assert fonts.face_for("🚀") is None and fonts.face_for("\ufe0f") is None and fonts.face_for("\u200d") is None
    assert fonts.drawable("Summer 🚀 Launch ✨") == "Summer Launch"
    assert fonts.drawable("👩‍👩‍👧 Family") == "Family"
    assert fonts.drawable("Prix\u00a0: 5\u202f€") == "Prix\u00a0: 5\u202f€"  # no-break spaces are kept


@pytest.mark.parametrize(
    "headline",
    [
        "知っていましたか？コールドブリューを選ぶ人が、この夏ますます増えています。",
        "「最高！」と話題のCafé Fríoを、あなたも。",
        "Sommerschlussverkaufsaktion: Kaltgetränke für Pendlerinnen und Pendler",
    ],
)
def test_headlines_wrap_within_the_image_without_breaking_words(headline):
    width = 1080 - 2 * (1080 // 12)
    size, lines = headline_lines(headline, width, 1080 // 14)
    measure = partial(fonts.measure, size=size, weight=HEADLINE_WEIGHT)
    assert 1 < len(lines) <= 4
    assert all(measure(line) <= width for line in lines)
    assert "".join(lines).replace(" ", "") == headline.replace(" ", "")
    assert not any(line[0] in NO_LINE_START for line in lines)
    # Latin words stay whole, even inside Japanese; a word too long for the line makes the text smaller.
    for word in ("Café", "Frío", "Sommerschlussverkaufsaktion:", "Pendlerinnen"):
        if word in headline:
            assert any(word in line for line in lines), (word, lines)
