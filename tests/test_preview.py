"""The engine's caption preview (generation.preview via dispatch.preview_captions): no database writes,
captions fitted to each platform, provider trouble turned into a message fit for the form, and never
a wait in line behind batches at the shared rate limiter."""

import asyncio

import pytest

from campaigns.models import Campaign
from generation import dispatch, preview
from generation.config import engine_config, redis_client
from generation.ratelimit import RedisRateLimiter
from shared.platforms import RULES, full_length
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
CAMPAIGN = Campaign(**FIELDS)  # unsaved, as the form's preview has it


def test_one_fitted_caption_per_platform_from_the_local_provider():
    # No `db` fixture here: pytest-django would fail the test if the preview touched the database.
    platforms = list(RULES)
    previews = dispatch.preview_captions(campaign=CAMPAIGN, platforms=platforms)
    assert [p.platform for p in previews] == platforms
    for item in previews:
        rules = RULES[item.platform]
        assert not item.error and item.caption
        assert item.length == full_length(item.caption, list(item.hashtags)) <= rules.caption_limit
        assert len(item.hashtags) <= rules.max_hashtags
        assert item.hashtags[0] == "#AutumnSale"  # the campaign's own first, as in a batch


def test_missing_optional_fields_are_fine():
    previews = dispatch.preview_captions(campaign=Campaign(name="N", brief="Sell."), platforms=["x"])
    assert previews[0].caption and not previews[0].error


def test_the_openai_provider_is_asked_once_per_platform(openai_settings, fake_openai):
    previews = dispatch.preview_captions(campaign=CAMPAIGN, platforms=["x", "linkedin"])
    assert [p.error for p in previews] == ["", ""]
    assert fake_openai.stats()["counts"] == {"chat:200": 2}
    assert all(p.length <= p.limit for p in previews)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("429", "busy with batches"),
        ("500", "could not write a caption"),
        ("malformed_json", "could not write a caption"),
    ],
)
def test_provider_errors_become_a_friendly_message(openai_settings, fake_openai, kind, message):
    fake_openai.configure(Config(fault_rate=1.0, fault_kinds=[kind]))
    (item,) = dispatch.preview_captions(campaign=CAMPAIGN, platforms=["x"])
    assert message in item.error and not item.caption
    assert "sk-test" not in item.error


def test_a_slow_provider_gives_up_in_time(openai_settings, fake_openai, monkeypatch):
    monkeypatch.setattr(preview, "PREVIEW_SECONDS", 0.5)
    fake_openai.configure(Config(text_latency=3))
    previews = dispatch.preview_captions(campaign=CAMPAIGN, platforms=["x", "instagram"])
    assert all("took too long" in p.error for p in previews)


def test_a_preview_never_waits_in_line_behind_batches(openai_settings, fake_openai):
    """Batches have taken every request the provider allows this minute: the preview says the
    provider is busy at once, sends nothing, and takes no place in the batches' line."""
    openai_settings.GENERATION_RPM = 2

    async def take_whole_bucket() -> float:
        client = redis_client(engine_config())
        try:
            limiter = RedisRateLimiter.for_config(engine_config(), client)
            for _ in range(2):
                await limiter.acquire()
            return float(await client.pttl(limiter._key("requests")))
        finally:
            await client.aclose()

    bucket_ttl_before = asyncio.run(take_whole_bucket())
    (item,) = dispatch.preview_captions(campaign=CAMPAIGN, platforms=["x"])
    assert item.error == preview.BUSY and not item.caption
    assert fake_openai.stats()["counts"] == {}

    async def bucket_ttl() -> float:
        client = redis_client(engine_config())
        try:
            return float(await client.pttl(RedisRateLimiter.for_config(engine_config(), client)._key("requests")))
        finally:
            await client.aclose()

    # A reservation would have pushed the bucket's end a slot (30 s) further out.
    assert asyncio.run(bucket_ttl()) <= bucket_ttl_before
