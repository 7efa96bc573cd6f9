"""Per-user limits (campaigns.quotas): active batches, posts a day, regenerations and exports a minute.

Each limit refuses with its numbers, through the service, so pages, admin and shell say the same;
what it refuses writes nothing. Staff and the shell (no user) are exempt.
"""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from campaigns.models import Activity, BatchJob, BatchStatus, GenerationStatus, Post, ReviewStatus
from campaigns.quotas import LimitReached
from campaigns.services import batch_cancel, batch_retry_failed, batch_start, post_regenerate
from tests.factories import CampaignFactory, PostFactory
from tests.support import all_at_once

HTMX = {"HX-Request": "true"}


@pytest.fixture
def limits(settings):
    settings.ACTIVE_BATCHES_PER_USER = 2
    settings.POSTS_PER_DAY_PER_USER = 25
    settings.REGENERATIONS_PER_MINUTE = 2
    settings.EXPORTS_PER_MINUTE = 2
    return settings


def test_active_batches_per_user(limits, user, campaign):
    first = batch_start(campaign=campaign, count=2, actor=user, enqueue=False)
    batch_start(campaign=campaign, count=2, actor=user, enqueue=False)
    with pytest.raises(LimitReached, match=r"You already have 2 batches running, and 2 may run at once"):
        batch_start(campaign=campaign, count=2, actor=user, enqueue=False)
    assert BatchJob.objects.count() == 2 and Post.objects.count() == 4
    batch_cancel(batch=first, actor=user)  # one ends: room for one more
    batch_start(campaign=campaign, count=2, actor=user, enqueue=False)
    assert BatchJob.objects.filter(status=BatchStatus.QUEUED).count() == 2


def test_posts_per_day_per_user(limits, user, campaign):
    limits.ACTIVE_BATCHES_PER_USER = 10
    batch_start(campaign=campaign, count=20, actor=user, enqueue=False)
    with pytest.raises(LimitReached) as refusal:
        batch_start(campaign=campaign, count=10, actor=user, enqueue=False)
    assert refusal.value.messages == [
        "You may ask for 25 posts a day and have asked for 20 in the last 24 hours: 5 more now."
    ]
    assert Post.objects.count() == 20
    batch_start(campaign=campaign, count=5, actor=user, enqueue=False)
    # Another user's day is their own, and the shell and staff are not counted against anyone.
    other = CampaignFactory()
    batch_start(campaign=other, count=25, actor=other.owner, enqueue=False)
    batch_start(campaign=campaign, count=30, actor=None, enqueue=False)


def test_retrying_failed_posts_counts_against_the_posts_per_day(limits, user, campaign):
    limits.ACTIVE_BATCHES_PER_USER = 10
    batch = batch_start(campaign=campaign, count=20, actor=user, enqueue=False)
    Post.objects.filter(batch=batch).update(status=GenerationStatus.FAILED)
    BatchJob.objects.filter(pk=batch.pk).update(status=BatchStatus.FAILED, failed_count=20)
    with pytest.raises(LimitReached) as refusal:
        batch_retry_failed(batch=batch, actor=user)
    assert refusal.value.messages == [
        "You may ask for 25 posts a day and have asked for 20 in the last 24 hours: 5 more now."
    ]
    batch.refresh_from_db()
    assert (batch.status, batch.failed_count) == (BatchStatus.FAILED, 20)
    assert not Post.objects.exclude(status=GenerationStatus.FAILED).exists()
    # Five fit.
    Post.objects.filter(pk__in=Post.objects.filter(batch=batch).values("pk")[:15]).update(
        status=GenerationStatus.SUCCEEDED
    )
    BatchJob.objects.filter(pk=batch.pk).update(failed_count=5)
    assert batch_retry_failed(batch=batch, actor=user) == 5


def test_retried_posts_count_again_for_the_member_who_retried(limits, user, campaign):
    """Retries are generated again: each counts, so failing posts cannot be retried past the day's limit."""
    limits.ACTIVE_BATCHES_PER_USER = 10
    batch = batch_start(campaign=campaign, count=15, actor=user, enqueue=False)

    def all_failed() -> None:
        Post.objects.filter(batch=batch).update(status=GenerationStatus.FAILED)
        BatchJob.objects.filter(pk=batch.pk).update(status=BatchStatus.FAILED, failed_count=15)

    all_failed()
    with pytest.raises(LimitReached, match="have asked for 15 in the last 24 hours: 10 more now"):
        batch_retry_failed(batch=batch, actor=user)
    Post.objects.filter(pk__in=Post.objects.filter(batch=batch).values("pk")[:10]).update(
        status=GenerationStatus.SUCCEEDED
    )
    BatchJob.objects.filter(pk=batch.pk).update(failed_count=5)
    assert batch_retry_failed(batch=batch, actor=user) == 5  # 15 + 5 of 25
    all_failed()
    # The same 15 failed again: 15 asked for and 5 retried leave room for 5, not 15.
    with pytest.raises(LimitReached) as refusal:
        batch_retry_failed(batch=batch, actor=user)
    assert refusal.value.messages == [
        "You may ask for 25 posts a day and have asked for 20 in the last 24 hours: 5 more now."
    ]
    with pytest.raises(LimitReached, match="have asked for 20"):
        batch_start(campaign=campaign, count=6, actor=user, enqueue=False)
    # Another member's day is their own: the retries were counted for `user` alone.
    other = CampaignFactory()
    batch_start(campaign=other, count=25, actor=other.owner, enqueue=False)


@pytest.mark.django_db(transaction=True)
def test_retries_recorded_before_their_count_had_a_field_still_count(campaign):
    """Migration 0011 reads the count of earlier retries from their detail ("12 posts")."""
    before, after = [("campaigns", "0010_invitations")], [("campaigns", "0011_activity_queued_posts")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("campaigns", "Activity")
    retry = old.objects.create(campaign_id=campaign.pk, actor_id=campaign.owner_id, verb="retried", detail="12 posts")
    edit = old.objects.create(campaign_id=campaign.pk, actor_id=campaign.owner_id, verb="edited", detail="3 posts")
    # Then on to the latest schema (going back to 0010 took every app that depends on 0011 with it):
    # the rows are read with today's models, and the test database is left as other tests expect it.
    executor = MigrationExecutor(connection)
    executor.migrate([*after, *executor.loader.graph.leaf_nodes()])
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
    assert Activity.objects.get(pk=retry.pk).queued_posts == 12
    assert Activity.objects.get(pk=edit.pk).queued_posts is None


def test_a_retry_counts_as_a_running_batch(limits, user, campaign):
    """A retried batch runs again: it needs room among the batches that may run at once."""
    ended = batch_start(campaign=campaign, count=2, actor=user, enqueue=False)
    Post.objects.filter(batch=ended).update(status=GenerationStatus.FAILED)
    BatchJob.objects.filter(pk=ended.pk).update(status=BatchStatus.FAILED, failed_count=2)
    batch_start(campaign=campaign, count=2, actor=user, enqueue=False)
    batch_start(campaign=campaign, count=2, actor=user, enqueue=False)
    with pytest.raises(LimitReached, match=r"You already have 2 batches running"):
        batch_retry_failed(batch=ended, actor=user)
    assert Post.objects.filter(batch=ended, status=GenerationStatus.FAILED).count() == 2


def test_staff_are_exempt(limits, staff_user, campaign):
    for _ in range(3):
        batch_start(campaign=campaign, count=10, actor=None, requested_by=staff_user, enqueue=False)
    assert BatchJob.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_starts_in_the_same_instant_cannot_pass_the_limit(limits, user):
    """Fifteen starts at once (the review's attack): the row lock lets exactly the limit through."""
    campaign = CampaignFactory(owner=user)
    results = all_at_once([lambda: batch_start(campaign=campaign, count=3, actor=user, enqueue=False)] * 6)
    started = [result for result in results if isinstance(result, BatchJob)]
    refused = [result for result in results if isinstance(result, LimitReached)]
    assert (len(started), len(refused)) == (2, 4), results
    assert BatchJob.objects.filter(requested_by=user).count() == 2


def test_the_page_shows_a_limit_refusal_and_starts_nothing(limits, signed_in_client, user, campaign):
    url = reverse("campaigns:batch_start", args=[campaign.pk])
    data = {"count": "20", "platforms": campaign.platforms[:1]}
    assert signed_in_client.post(url, data, headers=HTMX).status_code == 200
    html = signed_in_client.post(url, data, headers=HTMX).content.decode()
    assert "You may ask for 25 posts a day and have asked for 20 in the last 24 hours: 5 more now." in html
    assert BatchJob.objects.count() == 1


def test_regenerations_per_minute(limits, signed_in_client, campaign):
    posts = [PostFactory(campaign=campaign, caption=f"Post {n}") for n in range(3)]
    for post in posts[:2]:
        response = signed_in_client.post(reverse("campaigns:post_regenerate", args=[post.pk]), {"part": "caption"})
        assert response.status_code == 302
    html = signed_in_client.post(
        reverse("campaigns:post_regenerate", args=[posts[2].pk]), {"part": "caption"}, headers=HTMX
    ).content.decode()
    assert "You may make 2 regenerations a minute: try again in" in html
    posts[2].refresh_from_db()
    # Refused: the post is as it was, not waiting for the engine.
    assert (posts[2].status, posts[2].review_status) == (GenerationStatus.SUCCEEDED, ReviewStatus.DRAFT)
    assert Post.objects.filter(status=GenerationStatus.PENDING).count() == 2


def test_regenerations_of_another_user_and_of_staff_are_not_counted(limits, user, campaign):
    posts = [PostFactory(campaign=campaign, caption=f"Post {n}") for n in range(5)]
    other = CampaignFactory()
    for post in posts[:2]:
        post_regenerate(post=post, part="image", actor=user)
    post_regenerate(post=PostFactory(campaign=other, caption="Theirs"), part="image", actor=other.owner)
    post_regenerate(post=posts[3], part="image", actor=None)  # the admin's actions and the shell
    with pytest.raises(LimitReached):
        post_regenerate(post=posts[4], part="image", actor=user)


def test_exports_per_minute_cover_csv_and_zip(limits, signed_in_client, campaign):
    PostFactory(campaign=campaign)
    csv_url = reverse("exports:export_csv", args=[campaign.pk])
    zip_url = reverse("exports:export_zip", args=[campaign.pk])
    assert signed_in_client.get(csv_url).status_code == 200
    started = signed_in_client.post(zip_url)  # a ZIP is a job: its page follows
    assert started.status_code == 302 and "/exports/" in started["Location"]
    for refused in (signed_in_client.get(csv_url), signed_in_client.post(zip_url)):
        assert refused.status_code == 302 and refused["Location"] == campaign.get_absolute_url()
    page = signed_in_client.get(campaign.get_absolute_url()).content.decode()
    assert "You may make 2 exports a minute: try again in" in page
