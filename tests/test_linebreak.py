"""Line breaks: between words in Latin scripts, between characters in Japanese, never against kinsoku."""

import pytest

from generation.linebreak import NO_LINE_END, NO_LINE_START, pieces, shorten, truncate, wrap


def chars(text: str) -> float:
    """A measure where every character is one unit wide."""
    return float(len(text))


def test_latin_text_breaks_only_at_spaces_and_after_hyphens():
    assert pieces("Café Frío, hoy") == ["Café ", "Frío, ", "hoy"]
    assert pieces("Sommer-Special jetzt") == ["Sommer-", "Special ", "jetzt"]


def test_japanese_breaks_between_characters_but_not_before_closing_marks_or_after_opening_ones():
    assert pieces("夏のコーヒー。") == ["夏", "の", "コー", "ヒー。"]
    assert pieces("「最高！」と話題") == ["「最", "高！」", "と", "話", "題"]
    assert pieces("ちょっと") == ["ちょっ", "と"]  # small kana never start a line


def test_a_latin_word_inside_japanese_stays_whole():
    assert pieces("話題のCafé Fríoです") == ["話", "題", "の", "Café ", "Frío", "で", "す"]


@pytest.mark.parametrize(
    "text",
    [
        "知っていましたか？コールドブリューを選ぶ人が、この夏ますます増えています。",
        "「最高！」と話題のCafé Fríoを、あなたも。",
    ],
)
def test_wrapped_japanese_lines_respect_kinsoku_and_keep_every_character(text):
    for width in range(4, 16):
        lines = wrap(text, width, chars)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        assert all(len(line) <= width for line in lines)
        assert not any(line[0] in NO_LINE_START for line in lines[1:])
        assert not any(line[-1] in NO_LINE_END for line in lines[:-1])


def test_a_word_longer_than_the_line_is_cut_only_as_a_last_resort():
    assert wrap("Ein Sommerschlussverkauf heute", 12, chars) == ["Ein", "Sommerschlus", "sverkauf", "heute"]
    assert wrap("Ein Sommer heute", 12, chars) == ["Ein Sommer", "heute"]


@pytest.mark.parametrize(
    ("text", "limit", "short"),
    [
        ("Launch our nitro cold brew today", 20, "Launch our nitro…"),
        ("この夏、新しいコールドブリューが登場します。", 10, "この夏、新しいコー…"),
        ("Prix\u00a0: 5\u202f€ seulement aujourd'hui", 12, "Prix\u00a0: 5\u202f€…"),
        ("Short", 20, "Short"),
    ],
)
def test_shorten_cuts_where_a_line_may_break(text, limit, short):
    assert shorten(text, limit) == short
    assert len(shorten(text, limit)) <= limit


def test_truncate_fits_the_width_with_an_ellipsis():
    assert truncate("Summer Launch", 20, chars) == "Summer Launch"
    assert truncate("Summer Cold Brew Launch", 12, chars) == "Summer Cold…"
    assert truncate("夏のコールドブリュー", 6, chars) == "夏のコール…"
    assert truncate("Sommerschlussverkauf", 8, chars) == "Sommers…"
