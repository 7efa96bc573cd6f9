"""The engine's caption preview (generation.preview via dispatch.preview_captions): no database writes,
captions fitted to each platform, provider trouble turned into a message fit for the form."""

import pytest

from generation import dispatch, preview
from generation.platforms import RULES, full_length
from tests.fake_openai import Config

FIELDS = {
    "name": "Autumn Sale",
    "brief": "Thirty percent off every jacket. " * 200,  # far longer than any caption may be
    "target_audience": "hikers",
    "tone": "warm",
    "language": "en",
    "keywords": ["jackets", "autumn"],
    "hashtags": ["#AutumnSale", "#Hiking", "#Outdoors", "#Jackets", "#Sale", "#Cozy"],
    "call_to_action": "Shop now.",
    "brand_color": "#AA3300",
}


def test_one_fitted_caption_per_platform_from_the_local_provider():
    # No `db` fixture here: pytest-django would fail the test if the preview touched the database.
    platforms = list(RULES)
    previews = dispatch.preview_captions(fields=FIELDS, platforms=platforms)
    assert [p.platform for p in previews] == platforms
    for item in previews:
        rules = RULES[item.platform]
        assert not item.error and item.caption
        assert item.length == full_length(item.caption, list(item.hashtags)) <= rules.caption_limit
        assert len(item.hashtags) <= rules.max_hashtags
        assert item.hashtags[0] == "#AutumnSale"  # the campaign's own first, as in a batch


def test_missing_optional_fields_are_fine():
    previews = dispatch.preview_captions(fields={"name": "N", "brief": "Sell."}, platforms=["x"])
    assert previews[0].caption and not previews[0].error


def test_the_openai_provider_is_asked_once_per_platform(openai_settings, fake_openai):
    previews = dispatch.preview_captions(fields=FIELDS, platforms=["x", "linkedin"])
    assert [p.error for p in previews] == ["", ""]
    assert fake_openai.stats()["counts"] == {"chat:200": 2}
    assert all(p.length <= p.limit for p in previews)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("429", "busy right now"),
        ("500", "could not write a caption"),
        ("malformed_json", "could not write a caption"),
    ],
)
def test_provider_errors_become_a_friendly_message(openai_settings, fake_openai, kind, message):
    fake_openai.configure(Config(fault_rate=1.0, fault_kinds=[kind]))
    (item,) = dispatch.preview_captions(fields=FIELDS, platforms=["x"])
    assert message in item.error and not item.caption
    assert "sk-test" not in item.error


def test_a_slow_provider_gives_up_in_time(openai_settings, fake_openai, monkeypatch):
    monkeypatch.setattr(preview, "PREVIEW_TIMEOUT_SECONDS", 0.5)
    fake_openai.configure(Config(text_latency=3))
    previews = dispatch.preview_captions(fields=FIELDS, platforms=["x", "instagram"])
    assert all("took too long" in p.error for p in previews)
