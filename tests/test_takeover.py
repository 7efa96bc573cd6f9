"""Leases: a dead worker's posts are taken over within 20 s, and a stalled worker's late results are dropped.

With the default leases (15 s, renewed every 5 s) and recovery interval (3 s), a SIGKILLed worker's
leases run out 10 to 15 s after its death; a live worker then takes its posts at its next claim, or
an idle one at the clock's next recovery job (3 s) plus a fork: at most about 19 s.
"""

import contextlib
import signal
import time

import psutil
import pytest
from django.conf import settings
from django.db.models import Count
from rq.job import Job

from campaigns.models import BatchStatus, GenerationStatus, Post
from campaigns.services import batch_start
from generation.queue import generation_queue
from tests.factories import CampaignFactory
from tests.fake_openai import Config
from tests.support import wait_for, wait_for_batch_end
from tests.test_workers import assert_exactly

pytestmark = [pytest.mark.workers, pytest.mark.slow]

TAKEOVER_BOUND = 20.0


def horse_of(workers, name: str) -> int | None:
    children = psutil.Process(workers.processes[name].pid).children()
    return children[0].pid if children else None


def held_by(batch, horse: int):
    return Post.objects.filter(batch=batch, status=GenerationStatus.GENERATING, lease_owner__contains=f":{horse}:")


def wait_until_holding(workers, name: str, batch) -> tuple[int, list[int]]:
    """The work horse of worker `name` once it holds leases on posts of `batch`, and those posts."""

    def holding() -> tuple[int, list[int]] | None:
        horse = horse_of(workers, name)
        ids = list(held_by(batch, horse).values_list("id", flat=True)) if horse else []
        return (horse, ids) if ids else None

    return wait_for(holding, timeout=60, interval=0.05, message=f"{name} to hold leases")


def test_a_killed_workers_posts_are_taken_over_within_20_seconds(workers, openai_settings, openai_env, fake_openai):
    """The default leases and recovery interval, real workers, SIGKILL: the measured takeover time is printed."""
    assert (settings.GENERATION_LEASE_SECONDS, settings.GENERATION_LEASE_RENEWAL_SECONDS) == (15.0, 5.0)
    fake_openai.configure(Config(text_latency=0.5, image_latency=4))
    env = {
        **openai_env,
        "GENERATION_CONCURRENCY": 4,
        "GENERATION_RECOVERY_INTERVAL": settings.GENERATION_RECOVERY_INTERVAL,
    }
    workers.start("doomed", **env)
    batch = batch_start(campaign=CampaignFactory(), count=12, actor=None)
    horse, orphans = wait_until_holding(workers, "doomed", batch)
    workers.start("survivor", **env)
    # Leases renewed just before the kill run out latest, and the survivor is idle by then: the slow path.
    wait_for(lambda: len(orphans) == held_by(batch, horse).count(), timeout=30, message="the leases to stand")
    time.sleep(0.5)
    workers.kill("doomed")
    killed_at = time.monotonic()

    def taken_over() -> bool:
        return not Post.objects.filter(id__in=orphans, lease_owner__contains=f":{horse}:").exists()

    wait_for(taken_over, timeout=60, interval=0.1, message="the dead worker's posts to be taken over")
    takeover = time.monotonic() - killed_at
    wait_for_batch_end(batch, timeout=120)
    assert (batch.status, batch.succeeded_count) == (BatchStatus.SUCCEEDED, 12)
    assert_exactly(batch, 12)
    assert set(Post.objects.filter(id__in=orphans).values_list("attempts", flat=True)) == {2}
    print(f"SIGKILL to takeover: {takeover:.1f}s for {len(orphans)} posts (bound {TAKEOVER_BOUND:.0f}s)")
    assert takeover < TAKEOVER_BOUND


def test_a_stalled_worker_loses_its_leases_and_its_late_results_are_dropped(
    workers, openai_settings, openai_env, fake_openai
):
    """A work horse frozen (SIGSTOP: a swapped-out VM, a long GC) loses its 4 s leases to another worker
    within 10 s, which generates those posts; when it wakes up its results arrive late and are dropped:
    no post is written twice."""
    fake_openai.configure(Config(text_latency=0.2, image_latency=2))
    env = {
        **openai_env,
        "GENERATION_CONCURRENCY": 4,
        "GENERATION_LEASE_SECONDS": 4,
        "GENERATION_LEASE_RENEWAL_SECONDS": 1,
    }
    workers.start("stalled", **env)
    batch = batch_start(campaign=CampaignFactory(), count=16, actor=None)
    horse, stalled_posts = wait_until_holding(workers, "stalled", batch)
    workers.start("steady", **env)
    frozen = psutil.Process(horse)
    frozen.send_signal(signal.SIGSTOP)
    try:
        # The stall lasts until the steady worker has taken every stalled post, 10 s at most.
        taken = Post.objects.filter(id__in=stalled_posts).exclude(lease_owner__contains=f":{horse}:")
        stall_ends = time.monotonic() + 10
        while taken.count() < len(stalled_posts) and time.monotonic() < stall_ends:
            time.sleep(0.1)
        assert taken.exists(), "the stalled worker kept its leases through a 10 s stall"
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):
            frozen.send_signal(signal.SIGCONT)
    wait_for_batch_end(batch, timeout=120)
    assert (batch.status, batch.succeeded_count, batch.failed_count) == (BatchStatus.SUCCEEDED, 16, 0)
    assert_exactly(batch, 16)
    duplicates = Post.objects.filter(batch=batch).values("sequence").annotate(n=Count("id")).filter(n__gt=1)
    assert not duplicates.exists()
    # The stalled posts were claimed again, and the stalled worker's late results went nowhere.
    assert set(Post.objects.filter(id__in=stalled_posts).values_list("attempts", flat=True)) == {2}

    def job_results() -> list[dict] | None:
        jobs = Job.fetch_many(batch.rq_job_ids, connection=generation_queue().connection)
        done = [job for job in jobs if job is not None]
        if any(not (job.is_finished or job.is_failed) for job in done):
            return None
        return [job.return_value() or {} for job in done]

    results = wait_for(job_results, timeout=60, message="the chunk jobs to end")
    dropped = sum(result.get("dropped", 0) for result in results)
    assert dropped >= 1, results
    assert "dropped" in workers.log("stalled") and "whose lease had passed to another worker" in workers.log("stalled")
    # 16 results were written in all: none of the late ones.
    assert sum(result.get("succeeded", 0) for result in results) == 16
