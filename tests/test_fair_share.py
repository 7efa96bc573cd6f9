"""Workers share their capacity fairly between workspaces, then between each workspace's batches.

Before workspaces, claims interleaved batches by position, so a workspace running two batches got
two thirds of the workers against another's one batch. Now each post goes to the workspace with
the fewest posts in flight, and within a workspace its batches take turns.
"""

from collections import Counter

import pytest
from django.db.models import Q

from campaigns.models import GenerationStatus, Post
from campaigns.services import batch_start
from generation import claims
from tests.factories import CampaignFactory, UserFactory
from tests.fake_openai import Config
from tests.support import wait_for_batch_end


def workspace_of(post_ids: list[int]) -> Counter:
    rows = Post.objects.filter(id__in=post_ids).values_list("campaign__workspace__name", flat=True)
    return Counter(rows)


@pytest.fixture
def busy_and_quiet(db):
    """Workspace "busy" with two batches, workspace "quiet" with one, 10 posts each."""
    busy = CampaignFactory(owner=UserFactory(username="busy"))
    quiet = CampaignFactory(owner=UserFactory(username="quiet"))
    busy.workspace.name, quiet.workspace.name = "busy", "quiet"
    busy.workspace.save()
    quiet.workspace.save()
    batches = [batch_start(campaign=c, count=10, actor=None, enqueue=False) for c in (busy, busy, quiet)]
    return busy, quiet, batches


def test_each_post_goes_to_the_workspace_with_the_fewest_in_flight(busy_and_quiet):
    busy, quiet, (first, second, _) = busy_and_quiet
    claimed = claims.claim_posts(owner="w", limit=4, lease_seconds=60)
    assert workspace_of([t.post_id for t in claimed]) == {"busy": 2, "quiet": 2}
    # Within a workspace its batches take turns: one post of each of busy's two batches.
    assert sorted(t.batch_id for t in claimed if t.campaign_id == busy.pk) == [first.pk, second.pk]
    assert workspace_of([t.post_id for t in claims.claim_posts(owner="w", limit=2, lease_seconds=60)]) == {
        "busy": 1,
        "quiet": 1,
    }
    # quiet's posts end: 3 in flight for busy, none for quiet, so quiet gets the next three.
    Post.objects.filter(campaign=quiet, status=GenerationStatus.GENERATING).update(status=GenerationStatus.SUCCEEDED)
    assert workspace_of([t.post_id for t in claims.claim_posts(owner="w", limit=3, lease_seconds=60)]) == {"quiet": 3}


def test_a_workspace_alone_gets_every_worker_and_one_with_nothing_left_gives_way(busy_and_quiet):
    _busy, quiet, _ = busy_and_quiet
    Post.objects.filter(campaign=quiet).update(status=GenerationStatus.SUCCEEDED)
    claimed = claims.claim_posts(owner="w", limit=6, lease_seconds=60)
    assert workspace_of([t.post_id for t in claimed]) == {"busy": 6}


@pytest.mark.workers
def test_a_worker_interleaves_two_workspaces_batches(workers, openai_settings, openai_env, fake_openai):
    """One worker, "busy" with two batches of 30 and "quiet" with one of 30, all waiting when it starts.
    Shared by batch, all three would end together (busy done 60 when quiet ends); shared by workspace,
    quiet ends when busy has done about as many (30)."""
    fake_openai.configure(Config(text_latency=0.05, image_latency=0.05))
    busy = CampaignFactory(owner=UserFactory(username="busy"))
    quiet = CampaignFactory(owner=UserFactory(username="quiet"))
    busy_batches = [batch_start(campaign=busy, count=30, actor=None) for _ in range(2)]
    quiet_batch = batch_start(campaign=quiet, count=30, actor=None)
    workers.start("fair", **openai_env, GENERATION_CONCURRENCY=4)
    wait_for_batch_end(quiet_batch, timeout=120)
    busy_done = Post.objects.filter(
        Q(batch__in=busy_batches), generated_at__lte=quiet_batch.finished_at, status=GenerationStatus.SUCCEEDED
    ).count()
    print(f"busy had done {busy_done} posts when quiet's 30 were done")
    assert 18 <= busy_done <= 42  # measured 29, 30, 36; shared by batch instead: 60
    for batch in busy_batches:
        wait_for_batch_end(batch, timeout=120)
        assert batch.succeeded_count == 30
