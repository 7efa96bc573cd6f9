"""Images answered as a URL: downloaded with a timeout, a size cap and a Pillow check, never kept as a URL."""

import asyncio

import pytest

from campaigns.models import BatchStatus, Post
from campaigns.services import batch_start
from generation.config import engine_config
from generation.jobs import run_batch_inline
from generation.providers.base import PermanentProviderError, TransientProviderError
from generation.providers.image_download import ImageDownloader
from generation.providers.openai_api import OpenAIProvider, image_response_format
from tests.factories import CampaignFactory
from tests.fake_openai import Config
from tests.test_openai_provider import IMAGE_REQUEST, call


@pytest.mark.django_db(transaction=True)
def test_a_server_that_answers_image_urls_gives_100_good_posts(openai_settings, fake_openai):
    """Every image comes as a URL on the server, and a tenth of the downloads fail in some way: all are retried."""
    openai_settings.GENERATION_MAX_TRIES = 6
    openai_settings.GENERATION_IMAGE_DOWNLOAD_TIMEOUT = 0.5
    fake_openai.configure(
        Config(
            image_response="url",
            download_fault_rate=0.1,
            download_faults=["404", "not_image", "oversized", "oversized_chunked", "slow"],
            download_slow_seconds=2,
        )
    )
    batch = batch_start(
        campaign=CampaignFactory(platforms=["instagram", "linkedin"]), count=100, enqueue=False, actor=None
    )
    run_batch_inline(batch.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.succeeded_count, batch.failed_count) == (BatchStatus.SUCCEEDED, 100, 0)
    stats = fake_openai.stats()
    assert {request["answered_as"] for request in stats["image_requests"]} == {"url"}
    faults = {download["fault"] for download in stats["downloads"] if download["fault"]}
    assert len(faults) >= 3, faults  # the failures did happen, and were retried
    assert sum(1 for d in stats["downloads"] if d["status"] == 200 and not d["fault"]) >= 100
    images = list(Post.objects.filter(batch=batch).values_list("image", "thumbnail"))
    assert all(image.startswith(f"posts/{batch.campaign_id}/") and thumbnail for image, thumbnail in images)
    assert not [row for row in Post.objects.filter(batch=batch).values() if "/files/img-" in str(row)]


@pytest.mark.parametrize(
    ("fault", "code", "text"),
    [
        ("404", "server_error", "HTTP 404"),
        ("not_image", "malformed", "not an image"),
        ("oversized", "malformed", "larger than 20 MB"),
        ("oversized_chunked", "malformed", "larger than 20 MB"),
        ("slow", "timeout", "timed out"),
    ],
)
def test_a_failed_download_is_transient_with_its_reason(openai_settings, fake_openai, fault, code, text):
    openai_settings.GENERATION_IMAGE_DOWNLOAD_TIMEOUT = 0.5
    fake_openai.configure(
        Config(image_response="url", download_fault_rate=1.0, download_faults=[fault], download_slow_seconds=3)
    )
    provider = OpenAIProvider(engine_config())
    with pytest.raises(TransientProviderError, match=text) as caught:
        call(provider, provider.image, IMAGE_REQUEST)
    assert caught.value.code == code
    assert "/files/img-" not in caught.value.reason  # the URL itself is never kept


def test_https_from_any_host_and_http_only_from_the_providers_host():
    async def check() -> None:
        downloader = ImageDownloader(base_url="http://llm.internal:8000/v1", timeout=1, max_bytes=1024)
        try:
            downloader.check_url("https://cdn.example.com/a.png?sig=x")
            downloader.check_url("http://llm.internal:9000/files/a.png")
            for refused in ("http://cdn.example.com/a.png", "file:///etc/passwd", "ftp://llm.internal/a.png"):
                with pytest.raises(PermanentProviderError, match="neither https") as caught:
                    downloader.check_url(refused)
                assert caught.value.code == "malformed"
        finally:
            await downloader.aclose()

    asyncio.run(check())


def test_plain_http_from_another_host_is_never_fetched(fake_openai):
    """The fake serves the image over http, but OPENAI_BASE_URL names another host: nothing is requested."""
    url = f"{fake_openai.base_url.removesuffix('/v1')}/files/img-1.png"

    async def fetch() -> None:
        downloader = ImageDownloader(base_url="http://other-host:1/v1", timeout=1, max_bytes=1024)
        try:
            await downloader.fetch(url)
        finally:
            await downloader.aclose()

    with pytest.raises(PermanentProviderError, match="neither https"):
        asyncio.run(fetch())
    assert fake_openai.stats()["downloads"] == []


@pytest.mark.parametrize(
    ("model", "configured", "expected"),
    [
        ("dall-e-3", "", "b64_json"),
        ("dall-e-2", "", "b64_json"),
        ("gpt-image-1", "", None),
        ("flux-schnell", "", None),
        ("gpt-image-1", "url", "url"),
    ],
)
def test_the_response_format_is_chosen_per_model_unless_set(model, configured, expected):
    assert image_response_format(model, configured) == expected


@pytest.mark.parametrize(("model", "answered_as"), [("dall-e-3", "b64"), ("gpt-image-1", "b64"), ("sdxl", "url")])
def test_each_model_gets_an_image_the_way_it_answers(openai_settings, fake_openai, model, answered_as):
    """As OpenAI answers ("auto"), with gpt-image-* refusing response_format: every model gives an image."""
    openai_settings.OPENAI_IMAGE_MODEL = model
    fake_openai.configure(Config(image_response="auto", gpt_image_rejects_response_format=True))
    provider = OpenAIProvider(engine_config())
    result = call(provider, provider.image, IMAGE_REQUEST)
    assert result.data.startswith(b"\x89PNG")
    (request,) = fake_openai.stats()["image_requests"]
    assert request["answered_as"] == answered_as
