import pytest

from shared.platforms import (
    ELLIPSIS,
    RULES,
    fit_caption,
    full_length,
    normalize_hashtag,
    normalize_hashtags,
    rules_for,
    shorten_at_word_boundary,
)


def test_the_table_holds_each_platforms_rules():
    assert {p: r.caption_limit for p, r in RULES.items()} == {
        "instagram": 2200,
        "facebook": 63206,
        "linkedin": 3000,
        "x": 280,
        "tiktok": 2200,
    }
    assert {p: r.image_size for p, r in RULES.items()} == {
        "instagram": (1080, 1350),
        "facebook": (1200, 630),
        "linkedin": (1200, 627),
        "x": (1600, 900),
        "tiktok": (1080, 1920),
    }
    assert rules_for("instagram").max_hashtags == 5


def test_unknown_platform_is_named_in_the_error():
    with pytest.raises(ValueError, match="unknown platform 'myspace'"):
        rules_for("myspace")


@pytest.mark.parametrize(
    ("raw", "tag"),
    [("summer sale", "#SummerSale"), ("#BrewBetter", "#BrewBetter"), ("#café!", "#Café"), ("!!!", "")],
)
def test_hashtags_are_normalised(raw, tag):
    assert normalize_hashtag(raw) == tag


def test_hashtags_are_deduplicated_and_capped_per_platform():
    tags = normalize_hashtags(["#a", "#A", "b", "c", "d", "e", "f", "g"], "instagram")
    assert tags == ["#A", "#B", "#C", "#D", "#E"] or tags == ["#a", "#B", "#C", "#D", "#E"]
    assert len(normalize_hashtags(["a", "b", "c", "d"], "x")) == 3


def test_shortening_never_cuts_a_word():
    text = "Sunshine in a cup, brewed slowly for people who love mornings"
    short = shorten_at_word_boundary(text, 30)
    assert len(short) <= 30
    assert short.endswith(ELLIPSIS)
    assert text.startswith(short[: -len(ELLIPSIS)])
    assert short[: -len(ELLIPSIS)].split()[-1] in text.split() or short[: -len(ELLIPSIS)].rstrip(",") in text


def test_fit_caption_makes_an_x_post_fit_with_its_hashtags():
    caption = " ".join(["wonderful"] * 60)
    fitted, tags = fit_caption(caption, ["#one", "#two", "#three", "#four"], "x")
    assert full_length(fitted, tags) <= 280
    assert len(tags) == 3
    assert all(word in ("wonderful", "wonderful" + ELLIPSIS) for word in fitted.split())


def test_fit_caption_leaves_a_short_caption_alone():
    assert fit_caption("Hello there", ["#hi"], "linkedin") == ("Hello there", ["#Hi"])
