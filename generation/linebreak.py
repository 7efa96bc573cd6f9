"""Where text may break: between words in Latin scripts, between characters in Japanese.

Japanese is written without spaces, so a line may break between any two characters,
except that closing punctuation, small kana and the long-vowel mark never start a line
and opening brackets never end one (the kinsoku rules). A Latin word inside Japanese
text stays whole. Used for captions cut to a length and for headlines wrapped on images.
"""

import re
from collections.abc import Callable

ELLIPSIS = "…"

# Characters that may not begin a line, and characters that may not end one.
NO_LINE_START = frozenset(
    "、。，．・：；？！゛゜ヽヾゝゞ々ー」』）］｝〕〉》】〙〗〟’”"  # closing punctuation, iteration marks
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ"  # small kana
    "…‥),.:;!?%"
)
NO_LINE_END = frozenset("「『（［｛〔〈《【〘〖〝‘“([{")

_WIDE_RANGES = (
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF00, 0xFFEF),  # full-width forms
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)


# Spaces a line may break at; no-break spaces (French "?", "«", numbers) are not among them.
_BREAKING_SPACE = re.compile(r"[ \t\r\n\u3000]+")


def tidy(text: str) -> str:
    """Runs of breaking spaces and newlines as one space, none at the ends."""
    return _BREAKING_SPACE.sub(" ", text).strip()


def is_cjk(char: str) -> bool:
    """Whether the character belongs to a script written without spaces between words."""
    code = ord(char)
    return any(low <= code <= high for low, high in _WIDE_RANGES)


def _may_break_between(before: str, after: str, before_before: str) -> bool:
    if after == " ":
        return False  # spaces stay at the end of the piece they follow
    if before == " ":
        return True
    if after in NO_LINE_START or before in NO_LINE_END:
        return False
    if is_cjk(before) or is_cjk(after):
        return True
    # A hyphenated Latin compound ("Sommer-Special") may break after its hyphen.
    return before == "-" and before_before.isalpha() and after.isalpha()


def pieces(text: str) -> list[str]:
    """The text cut at every place a line may break; each piece keeps the spaces that follow it."""
    result: list[str] = []
    start = 0
    for index in range(1, len(text)):
        before_before = text[index - 2] if index >= 2 else ""
        if _may_break_between(text[index - 1], text[index], before_before):
            result.append(text[start:index])
            start = index
    if text:
        result.append(text[start:])
    return result


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut where a line could break, with an ellipsis when cut."""
    text = tidy(text)
    if len(text) <= limit:
        return text
    kept = ""
    for piece in pieces(text):
        if len(kept + piece.rstrip(" ")) > limit - len(ELLIPSIS):
            break
        kept += piece
    if not kept:
        kept = text[: limit - len(ELLIPSIS)]  # one word longer than the limit: cut inside it
    return kept.rstrip(" ,;:-–—、，\u00a0\u202f") + ELLIPSIS


def wrap(text: str, max_width: float, measure: Callable[[str], float]) -> list[str]:
    """Lines no wider than max_width (as measure says), broken only where a line may break.

    A single piece wider than max_width is cut between its characters as a last resort;
    callers that can, pick a smaller size first (see fits_unbroken).
    """
    lines: list[str] = []
    line = ""
    for piece in pieces(tidy(text)):
        if line and measure((line + piece).rstrip(" ")) > max_width:
            lines.append(line.rstrip(" "))
            line = ""
        if not line and measure(piece.rstrip(" ")) > max_width:
            *whole, piece = _cut_to_width(piece, max_width, measure)
            lines.extend(whole)
        line += piece
    if line.strip(" "):
        lines.append(line.rstrip(" "))
    return lines


def fits_unbroken(text: str, max_width: float, measure: Callable[[str], float]) -> bool:
    """Whether every word (and every Japanese character group) fits on a line of its own."""
    return all(measure(piece.rstrip(" ")) <= max_width for piece in pieces(tidy(text)))


def truncate(text: str, max_width: float, measure: Callable[[str], float]) -> str:
    """The text, or as much of it as fits in max_width followed by an ellipsis."""
    if measure(text) <= max_width:
        return text
    parts = pieces(text)
    while parts:
        candidate = "".join(parts).rstrip(" ,;:-–—、，\u00a0\u202f") + ELLIPSIS
        if measure(candidate) <= max_width:
            return candidate
        last = parts.pop()
        if not parts and len(last) > 1:
            parts = [last[:-1]]  # one word left: shorten it character by character
    return ELLIPSIS


def _cut_to_width(piece: str, max_width: float, measure: Callable[[str], float]) -> list[str]:
    lines: list[str] = []
    line = ""
    for char in piece:
        if line and measure(line + char) > max_width:
            lines.append(line)
            line = ""
        line += char
    return [*lines, line]
