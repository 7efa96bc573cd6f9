"""Fonts for the text drawn on images, chosen character by character.

Pillow's built-in font has ASCII only: "Café" and Japanese came out as boxes. These fonts
come from packages in requirements.txt, so every machine draws with the same ones:
Noto Sans (Latin, Greek, Cyrillic; a variable font, any weight) first, then Noto Sans CJK
JP Bold (kana, kanji, Japanese punctuation). Each character is drawn with the first font
whose character map has it; a character that no font has (emoji, mostly) is left out, so
it is never drawn as a box. Character maps are read once per process, the CJK one (0.25 s)
only when a character needs it.
"""

from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import fontpkg
import noto_cjk_sans_jp_bold
from fontpkg.pil import truetype as variable_truetype
from fontTools.ttLib import TTFont
from PIL import ImageDraw, ImageFont

from generation.linebreak import tidy


@dataclass(frozen=True)
class Face:
    name: str
    path: Path
    variable_weight: bool  # False: the file has one weight, used whatever weight is asked


FACES = (
    Face("Noto Sans", fontpkg.path("Noto Sans"), variable_weight=True),
    Face("Noto Sans CJK JP Bold", Path(str(noto_cjk_sans_jp_bold.FONT_PATH)), variable_weight=False),
)

# Zero-width joiners, variation selectors and tag characters steer emoji; alone they draw nothing.
_STEERING = frozenset(
    [*range(0x200B, 0x2010), 0x2060, *range(0xFE00, 0xFE10), *range(0xE0000, 0xE0080), *range(0x1F3FB, 0x1F400)]
)


@dataclass(frozen=True)
class Run:
    """A stretch of text drawn with one font."""

    face: Face
    text: str


@cache
def coverage(face: Face) -> frozenset[int]:
    """The code points the face has a glyph for (its character map)."""
    with TTFont(face.path, lazy=True) as font:
        return frozenset(font.getBestCmap())


@lru_cache(maxsize=4096)
def face_for(char: str) -> Face | None:
    """The first face with a glyph for the character; None when none has one."""
    if ord(char) in _STEERING:
        return None
    for face in FACES:
        if ord(char) in coverage(face):
            return face
    return None


def drawable(text: str) -> str:
    """The text without the characters no font can draw, spaces tidied where they were."""
    return tidy("".join(char for char in tidy(text) if face_for(char)))


@lru_cache(maxsize=1024)
def runs(text: str) -> tuple[Run, ...]:
    """The drawable text as runs of one face each (a space joins the run it follows)."""
    result: list[Run] = []
    for char in drawable(text):
        face = face_for(char)
        assert face is not None  # drawable() kept only the characters a face has
        if result and (result[-1].face is face or (char == " " and ord(char) in coverage(result[-1].face))):
            result[-1] = Run(result[-1].face, result[-1].text + char)
        else:
            result.append(Run(face, char))
    return tuple(result)


@lru_cache(maxsize=128)
def font(face: Face, size: int, weight: int = 400) -> ImageFont.FreeTypeFont:
    if face.variable_weight:
        return variable_truetype(face.name, size, weight=weight, layout_engine=ImageFont.Layout.BASIC)
    return ImageFont.truetype(str(face.path), size, layout_engine=ImageFont.Layout.BASIC)


def measure(text: str, *, size: int, weight: int = 400) -> float:
    """Width in pixels of the text as draw_line draws it."""
    return sum(font(run.face, size, weight).getlength(run.text) for run in runs(text))


def draw_line(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    *,
    size: int,
    weight: int = 400,
    fill: tuple[int, int, int],
) -> None:
    """Draw one line with its left end at x and its baseline at y, switching fonts as runs need."""
    x, baseline = xy
    for run in runs(text):
        run_font = font(run.face, size, weight)
        draw.text((x, baseline), run.text, font=run_font, fill=fill, anchor="ls")
        x += run_font.getlength(run.text)
