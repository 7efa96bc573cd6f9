"""Economy batches (OpenAI's Batch API) against the fake server's Files and Batches endpoints.

These drive the poller in this process, one recovery round at a time, with the real SDK and the
real fake server; tests/test_economy_workers.py runs the same on real rqworker processes.
"""

import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from campaigns.models import BatchJob, BatchMode, BatchStatus, GenerationStatus, Post
from campaigns.services import batch_cancel, batch_start
from generation import dispatch, economy
from generation.config import engine_config, image_cost, text_cost
from generation.models import BatchPhase, ProviderBatch
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db(transaction=True)

# The fake's answer to every caption request uses this many tokens (tests/fake_openai/answers.py).
PROMPT_TOKENS, COMPLETION_TOKENS = 420, 120


@pytest.fixture
def economy_settings(openai_settings):
    openai_settings.GENERATION_ECONOMY_POLL_SECONDS = 0.1
    openai_settings.GENERATION_LEASE_SECONDS = 5
    return openai_settings


def poll_until(predicate, fake_openai, *, rounds: int = 60, advance: float = 1.0):
    """Run the workers' economy step round after round, moving the fake's batch clock on, until predicate()."""
    for _ in range(rounds):
        economy.poll(config=engine_config(), owner="test-poller")
        value = predicate()
        if value:
            return value
        fake_openai.advance_clock(advance)
        time.sleep(0.12)  # past next_poll_at
    pytest.fail("the economy batch did not get there")


def ended(batch: BatchJob):
    batch.refresh_from_db()
    return not batch.is_active


def standard_cost(posts: int) -> Decimal:
    config = engine_config()
    return posts * (text_cost(config, PROMPT_TOKENS, COMPLETION_TOKENS) + image_cost(config, 1))


def provider_batches(fake_openai) -> dict[str, dict]:
    return fake_openai.stats()["batches"]


def test_an_economy_batch_makes_every_post_at_half_the_standard_cost(economy_settings, fake_openai):
    batch = batch_start(campaign=CampaignFactory(), count=12, mode=BatchMode.ECONOMY, actor=None)
    # Nothing for the chunk jobs: the posts are the provider's.
    assert not Post.objects.filter(batch=batch, status=GenerationStatus.PENDING).exists()
    poll_until(lambda: ended(batch), fake_openai)
    assert (batch.status, batch.succeeded_count, batch.failed_count) == (BatchStatus.SUCCEEDED, 12, 0)
    posts = Post.objects.filter(batch=batch)
    assert posts.count() == 12
    assert all(post.caption and post.image and post.thumbnail for post in posts)
    assert batch.cost_usd == standard_cost(12) / 2
    assert (batch.prompt_tokens, batch.image_count) == (12 * PROMPT_TOKENS, 12)
    # One provider batch per phase, and no live request.
    sent = provider_batches(fake_openai)
    assert sorted(b["endpoint"] for b in sent.values()) == ["/v1/chat/completions", "/v1/images/generations"]
    assert all(b["status"] == "completed" for b in sent.values())
    counts = fake_openai.stats()["counts"]
    assert "chat:200" not in counts and "images:200" not in counts
    assert batch.provider_progress["phase"] == BatchPhase.IMAGES
    assert batch.provider_progress["provider_batches"] == 2


def test_a_failed_line_fails_its_post_and_expired_lines_go_again(economy_settings, fake_openai):
    """The first captions batch expires with half its lines undone: those go in a follow-up batch."""
    batch = batch_start(campaign=CampaignFactory(), count=10, mode=BatchMode.ECONOMY, actor=None)
    ids = sorted(Post.objects.filter(batch=batch).values_list("id", flat=True))
    refused = ids[0]
    fake_openai.update(
        expire_batches=1,
        batch_expire_fraction=0.5,
        batch_fail_custom_ids=[f"post-{refused}"],
        batch_fail_kinds=["content_policy"],
    )
    poll_until(lambda: ended(batch), fake_openai)
    assert (batch.status, batch.succeeded_count, batch.failed_count) == (BatchStatus.PARTIALLY_FAILED, 9, 1)
    failed = Post.objects.get(pk=refused)
    assert (failed.status, failed.failure_reason) == (GenerationStatus.FAILED, "content_policy")
    assert "content policy" in failed.error_message
    rounds = list(ProviderBatch.objects.filter(batch=batch).values_list("phase", "round", "status"))
    assert rounds == [
        (BatchPhase.CAPTIONS, 0, "expired"),
        (BatchPhase.CAPTIONS, 1, "completed"),
        (BatchPhase.IMAGES, 0, "completed"),
    ]
    follow_up = ProviderBatch.objects.get(batch=batch, phase=BatchPhase.CAPTIONS, round=1)
    assert len(follow_up.post_ids) == 5
    assert len(provider_batches(fake_openai)) == 3


def test_a_poller_that_died_between_create_and_save_does_not_submit_again(economy_settings, fake_openai, monkeypatch):
    """The provider created the batch, but the poller died before saving its id: the next finds it."""
    batch = batch_start(campaign=CampaignFactory(), count=4, mode=BatchMode.ECONOMY, actor=None)
    real_create = economy.BatchAPI.create

    def create_then_die(self, **kwargs):
        real_create(self, **kwargs)
        raise KeyboardInterrupt  # the process ends here: nothing after the provider's answer is saved

    monkeypatch.setattr(economy.BatchAPI, "create", create_then_die)
    with pytest.raises(KeyboardInterrupt):
        economy.poll(config=engine_config(), owner="doomed")  # uploads, then creates and "dies"
    monkeypatch.undo()
    assert len(provider_batches(fake_openai)) == 1
    row = ProviderBatch.objects.get(batch=batch)
    assert row.create_sent_at and not row.provider_batch_id
    # Its lease expires (5 s here); then another poller takes the row over.
    ProviderBatch.objects.filter(pk=row.pk).update(poll_expires_at=row.poll_expires_at.replace(year=2000))
    poll_until(lambda: ended(batch), fake_openai)
    assert batch.succeeded_count == 4
    endpoints = sorted(b["endpoint"] for b in provider_batches(fake_openai).values())
    assert endpoints == ["/v1/chat/completions", "/v1/images/generations"]


def test_cancel_cancels_the_provider_batch(economy_settings, fake_openai):
    fake_openai.update(batch_stage_seconds=30)
    batch = batch_start(campaign=CampaignFactory(), count=6, mode=BatchMode.ECONOMY, actor=None)
    economy.poll(config=engine_config(), owner="test-poller")
    row = ProviderBatch.objects.get(batch=batch)
    assert row.provider_batch_id
    assert batch_cancel(batch=batch, actor=None) == 6
    poll_until(
        lambda: provider_batches(fake_openai)[row.provider_batch_id]["status"] == "cancelled", fake_openai, advance=30
    )
    row.refresh_from_db()
    batch.refresh_from_db()
    assert (row.status, row.cancel_sent, row.done) == ("cancelled", True, True)
    assert (batch.status, batch.canceled_count) == (BatchStatus.CANCELED, 6)
    assert set(Post.objects.filter(batch=batch).values_list("status", flat=True)) == {GenerationStatus.CANCELED}


def test_images_can_go_through_the_normal_path(economy_settings, fake_openai):
    economy_settings.GENERATION_ECONOMY_BATCH_IMAGES = False
    batch = batch_start(campaign=CampaignFactory(), count=5, mode=BatchMode.ECONOMY, actor=None)
    poll_until(lambda: Post.objects.filter(batch=batch, status=GenerationStatus.PENDING).count() == 5, fake_openai)
    dispatch.generate_batch_now(batch.pk)  # what a chunk job does
    batch.refresh_from_db()
    assert (batch.status, batch.succeeded_count) == (BatchStatus.SUCCEEDED, 5)
    config = engine_config()
    half_text = text_cost(config, PROMPT_TOKENS, COMPLETION_TOKENS) / 2
    assert abs(batch.cost_usd - 5 * (half_text + image_cost(config, 1))) < Decimal("0.00001")  # stored to 6 places
    assert [b["endpoint"] for b in provider_batches(fake_openai).values()] == ["/v1/chat/completions"]
    assert fake_openai.stats()["counts"]["images:200"] == 5
    assert "chat:200" not in fake_openai.stats()["counts"]


def test_the_local_provider_refuses_economy_and_writes_nothing(settings):
    settings.GENERATION_PROVIDER = "local"
    campaign = CampaignFactory()
    with pytest.raises(ValidationError, match="needs a provider with a Batch API"):
        batch_start(campaign=campaign, count=5, mode=BatchMode.ECONOMY, actor=None)
    assert not BatchJob.objects.exists() and not Post.objects.exists()


def test_economy_takes_no_cost_cap(economy_settings):
    with pytest.raises(ValidationError, match="takes no cost cap"):
        batch_start(campaign=CampaignFactory(), count=5, mode=BatchMode.ECONOMY, cost_cap_usd=Decimal("1"), actor=None)
    assert not BatchJob.objects.exists()


def test_images_a_batch_api_refuses_go_through_the_normal_path(economy_settings, fake_openai):
    """A provider whose Batch API takes no image lines: the batch still ends, its images made live."""
    fake_openai.update(refuse_images_in_batches=True)
    batch = batch_start(campaign=CampaignFactory(), count=3, mode=BatchMode.ECONOMY, actor=None)
    poll_until(lambda: Post.objects.filter(batch=batch, status=GenerationStatus.PENDING).count() == 3, fake_openai)
    images = ProviderBatch.objects.get(batch=batch, phase=BatchPhase.IMAGES)
    assert (images.status, images.done, images.provider_batch_id) == ("failed", True, "")
    dispatch.generate_batch_now(batch.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.succeeded_count) == (BatchStatus.SUCCEEDED, 3)
    assert fake_openai.stats()["counts"]["images:200"] == 3


def test_image_lines_answered_with_urls_are_downloaded_and_failures_carry_their_code(economy_settings, fake_openai):
    fake_openai.update(image_response="url")
    batch = batch_start(campaign=CampaignFactory(), count=4, mode=BatchMode.ECONOMY, actor=None)
    refused = min(Post.objects.filter(batch=batch).values_list("id", flat=True))
    fake_openai.update(batch_fail_custom_ids=[f"post-{refused}"], batch_fail_kinds=["quota"])
    poll_until(lambda: ended(batch), fake_openai)
    assert (batch.succeeded_count, batch.failed_count) == (3, 1)
    failed = Post.objects.get(pk=refused)
    assert (failed.status, failed.failure_reason) == (GenerationStatus.FAILED, "quota")
    assert all(post.image for post in Post.objects.filter(batch=batch, status=GenerationStatus.SUCCEEDED))
    assert len(fake_openai.stats()["downloads"]) == 3
