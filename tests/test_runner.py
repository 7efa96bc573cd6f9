"""The engine in one process (the --sync path): results, failures, leases and cost."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import BatchStatus, GenerationStatus, PendingWork, Post
from campaigns.services import batch_start, post_regenerate
from generation import claims, store
from generation.jobs import run_batch_inline
from shared.platforms import full_length, rules_for
from tests.factories import CampaignFactory
from tests.fake_openai import Config

pytestmark = pytest.mark.django_db(transaction=True)


def test_local_batch_ends_with_every_post_finished(campaign, settings):
    batch = batch_start(campaign=campaign, count=30, enqueue=False, actor=None)
    stats = run_batch_inline(batch.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.succeeded_count, batch.failed_count) == (BatchStatus.SUCCEEDED, 30, 0)
    assert stats.succeeded == 30
    posts = list(batch.posts.all())
    assert len(posts) == 30
    for post in posts:
        rules = rules_for(post.platform)
        assert post.status == GenerationStatus.SUCCEEDED
        assert post.caption and post.image and post.thumbnail
        assert full_length(post.caption, post.hashtags) <= rules.caption_limit
        assert len(post.hashtags) <= rules.max_hashtags
        assert post.lease_owner == "" and post.lease_expires_at is None
        from PIL import Image

        with Image.open(post.image.path) as image:
            assert image.size == rules.image_size
    assert len({post.caption for post in posts}) == 30


def test_transient_faults_are_retried_and_permanent_ones_fail_only_their_post(openai_settings, fake_openai):
    openai_settings.GENERATION_MAX_TRIES = 8
    fake_openai.configure(
        Config(
            fault_rate=0.3, fault_kinds=["429", "500", "503", "malformed_json", "truncated_image"], refuse_posts=[3, 7]
        )
    )
    campaign = CampaignFactory(platforms=["instagram"])
    batch = batch_start(campaign=campaign, count=20, enqueue=False, actor=None)
    run_batch_inline(batch.pk)
    batch.refresh_from_db()
    failed = {post.sequence: post for post in batch.posts.filter(status=GenerationStatus.FAILED)}
    assert set(failed) == {3, 7}
    assert all("content policy" in post.error_message for post in failed.values())
    assert {post.failure_reason for post in failed.values()} == {"content_policy"}
    assert (batch.status, batch.succeeded_count, batch.failed_count) == (BatchStatus.PARTIALLY_FAILED, 18, 2)
    assert batch.error_summary == "2 failed: Content policy (2)"
    stats = fake_openai.stats()["counts"]
    assert sum(n for key, n in stats.items() if key.endswith((":500", ":503", ":429"))) > 0
    # Tokens and cost were counted for the posts that made requests.
    assert batch.prompt_tokens >= 18 * 420
    assert batch.image_count >= 18
    assert batch.cost_usd > 0


def test_a_provider_that_keeps_failing_fails_posts_with_the_reason(openai_settings, fake_openai):
    openai_settings.GENERATION_MAX_TRIES = 2
    fake_openai.configure(Config(fault_rate=1.0, fault_kinds=["500"]))
    batch = batch_start(campaign=CampaignFactory(), count=3, enqueue=False, actor=None)
    run_batch_inline(batch.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.failed_count) == (BatchStatus.FAILED, 3)
    reasons = set(batch.posts.values_list("failure_reason", "error_message"))
    assert reasons == {("server_error", "provider error (HTTP 500) (after 2 tries)")}


def test_a_result_is_written_only_under_its_lease(campaign):
    batch = batch_start(campaign=campaign, count=2, enqueue=False, actor=None)
    first, _second = claims.claim_posts(owner="worker-a", limit=2, lease_seconds=60)
    # worker-a's lease on the first post expires, and worker-b takes it.
    Post.objects.filter(pk=first.post_id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    [taken] = claims.claim_posts(owner="worker-b", limit=5, lease_seconds=60)
    assert taken.post_id == first.post_id
    assert taken.attempt == 2
    late = store.PostOutcome(task=first, succeeded=True, caption="late answer")
    written = store.save_outcomes(owner="worker-a", outcomes=[late])
    assert written == []
    assert Post.objects.get(pk=first.post_id).status == GenerationStatus.GENERATING
    on_time = store.PostOutcome(task=taken, succeeded=True, caption="on time")
    assert store.save_outcomes(owner="worker-b", outcomes=[on_time]) == [on_time]
    batch.refresh_from_db()
    assert batch.succeeded_count == 1
    assert Post.objects.get(pk=first.post_id).caption == "on time"


def test_concurrent_batches_interleave_in_claim_order(user):
    first = batch_start(campaign=CampaignFactory(owner=user), count=10, enqueue=False, actor=None)
    second = batch_start(campaign=CampaignFactory(owner=user), count=10, enqueue=False, actor=None)
    claimed = claims.claim_posts(owner="w", limit=6, lease_seconds=60)
    assert [task.batch_id for task in claimed].count(first.pk) == 3
    assert [task.batch_id for task in claimed].count(second.pk) == 3


def test_regeneration_goes_first_and_leaves_batch_counters_alone(campaign):
    batch = batch_start(campaign=campaign, count=3, enqueue=False, actor=None)
    run_batch_inline(batch.pk)
    post = batch.posts.get(sequence=1)
    old_caption, old_image = post.caption, post.image.name
    post_regenerate(post=post, part="image", actor=None)
    other = batch_start(campaign=campaign, count=5, enqueue=False, actor=None)
    [first_claim] = claims.claim_posts(owner="w", limit=1, lease_seconds=60)
    assert first_claim.post_id == post.pk
    assert first_claim.pending_work == PendingWork.IMAGE
    Post.objects.filter(pk=post.pk).update(status=GenerationStatus.PENDING, lease_owner="", lease_expires_at=None)
    run_batch_inline(other.pk)  # only the other batch
    run_batch_inline(batch.pk)  # picks up the regeneration of this batch's post
    post.refresh_from_db()
    batch.refresh_from_db()
    assert post.status == GenerationStatus.SUCCEEDED
    assert post.caption == old_caption
    assert post.image.name != old_image
    assert (batch.succeeded_count, batch.status) == (3, BatchStatus.SUCCEEDED)


def test_cost_cap_stops_the_batch_cleanly(openai_settings, fake_openai):
    from decimal import Decimal

    openai_settings.GENERATION_CONCURRENCY = 2
    batch = batch_start(campaign=CampaignFactory(), count=30, enqueue=False, cost_cap_usd=Decimal("0.10"), actor=None)
    run_batch_inline(batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PARTIALLY_FAILED
    assert batch.canceled_count > 0
    assert batch.succeeded_count + batch.canceled_count + batch.failed_count == 30
    assert "cost cap of $0.10" in batch.error_summary
    # Only the posts already in flight when the cap was reached (2 here) run past it.
    per_post = Decimal("0.0422")
    assert batch.cost_usd <= Decimal("0.10") + 3 * per_post


def test_posts_claimed_in_a_round_whose_reply_was_lost_are_not_kept_by_renewals(openai_settings, fake_openai):
    """A claim can commit and its reply be lost (a connection cut at that moment); the runner then
    retries the round and never hears of the posts it took. Its lease renewals must not keep them:
    they expire after one lease and are claimed again, here by the same runner."""
    import asyncio

    from generation.config import engine_config
    from generation.providers import build_provider
    from generation.ratelimit import LocalRateLimiter
    from generation.runner import Runner

    openai_settings.GENERATION_LEASE_SECONDS = 1.5
    openai_settings.GENERATION_CONCURRENCY = 2
    fake_openai.configure(Config(text_latency=0.15, image_latency=0.15))
    batch = batch_start(campaign=CampaignFactory(platforms=["x"]), count=16, enqueue=False, actor=None)
    lost = claims.claim_posts(owner="worker-x", limit=2, lease_seconds=1.5)  # the round whose reply was lost

    async def run():
        config = engine_config()
        provider = build_provider(config)
        try:
            runner = Runner(
                config=config, provider=provider, limiter=LocalRateLimiter.for_config(config), owner="worker-x"
            )
            return await runner.run()
        finally:
            await provider.aclose()

    asyncio.run(run())
    batch.refresh_from_db()
    assert (batch.status, batch.succeeded_count) == (BatchStatus.SUCCEEDED, 16)
    assert {post.attempts for post in Post.objects.filter(pk__in=[task.post_id for task in lost])} == {2}


def test_after_a_failed_round_the_next_claim_takes_back_what_a_lost_reply_had_claimed(db):
    """When the runner saw a database call fail, its next claim looks for posts leased to it that
    it doesn't hold (a claim committed, its reply lost) and takes them back as they are: no second
    attempt counted, no lease to wait out."""
    batch = batch_start(campaign=CampaignFactory(platforms=["x"]), count=6, enqueue=False, actor=None)
    held = claims.claim_posts(owner="worker-y", limit=1, lease_seconds=30)  # being generated
    lost = claims.claim_posts(owner="worker-y", limit=2, lease_seconds=30)  # the round whose reply was lost
    again = claims.claim_posts(
        owner="worker-y", limit=3, lease_seconds=30, adopt_unless={task.post_id for task in held}
    )
    taken = {task.post_id for task in again}
    assert {task.post_id for task in lost} <= taken and len(taken) == 3
    assert not taken & {task.post_id for task in held}
    attempts = dict(Post.objects.filter(batch=batch).values_list("pk", "attempts"))
    assert all(attempts[task.post_id] == 1 for task in again)  # adopted or new: one attempt each


def test_requests_in_flight_never_exceed_the_concurrency(openai_settings, fake_openai):
    """A post's slot frees once its image has arrived, so image work does not hold the next
    post back; still, no more than GENERATION_CONCURRENCY requests are ever in flight."""
    openai_settings.GENERATION_CONCURRENCY = 4
    fake_openai.configure(Config(text_latency=0.05, image_latency=0.05))
    batch = batch_start(campaign=CampaignFactory(), count=24, enqueue=False, actor=None)
    stats = run_batch_inline(batch.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.succeeded_count, stats.requests) == (BatchStatus.SUCCEEDED, 24, 48)
    assert fake_openai.stats()["peak_in_flight"] == 4


def test_a_caption_over_the_limit_is_asked_for_again_then_shortened_between_words(openai_settings, fake_openai):
    fake_openai.configure(Config(caption_chars=700))  # far over X's 280 characters
    batch = batch_start(campaign=CampaignFactory(platforms=["x"]), count=2, enqueue=False, actor=None)
    run_batch_inline(batch.pk)
    chats = fake_openai.received("chat")
    assert len(chats) == 4  # each post asked twice
    assert sum("over the limit" in chat["messages"][1]["content"] for chat in chats) == 2
    for post in batch.posts.all():
        assert post.status == GenerationStatus.SUCCEEDED
        assert full_length(post.caption, post.hashtags) <= 280
        assert post.caption.endswith("…")
        kept = post.caption[:-1]
        # Cut between words: what is kept is whole words of the provider's answer.
        answer_words = ["a", "sunny", "take", "on", "the", "brief", "that", "keeps", "going"]
        assert kept.split()[-1].strip(",.") in answer_words


def test_a_try_cut_short_by_the_post_s_deadline_leaves_the_reason_that_made_it_retry(openai_settings, fake_openai):
    # A 503, then an answer that never comes: the post's deadline (2 s), not the request's own
    # timeout (30 s), ends the second try, so the post reports the 503, not "request timed out".
    openai_settings.GENERATION_POST_DEADLINE = 2
    openai_settings.GENERATION_REQUEST_TIMEOUT = 30
    fake_openai.configure(Config(fault_sequence=["503", "timeout"], timeout_seconds=10))
    batch = batch_start(campaign=CampaignFactory(platforms=["instagram"]), count=1, enqueue=False, actor=None)
    run_batch_inline(batch.pk)
    post = batch.posts.get()
    assert (post.status, post.failure_reason) == (GenerationStatus.FAILED, "server_error")
    assert post.error_message == "gave up after the post's deadline: provider error (HTTP 503)"
