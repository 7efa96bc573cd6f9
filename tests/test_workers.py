"""The engine on real rqworker processes, against PostgreSQL, Redis and the fake provider."""

import math
import signal
import time

import psutil
import pytest
from django.db.models import Count
from rq.job import Job

from campaigns.models import BatchStatus, GenerationStatus, Post
from campaigns.services import batch_start
from generation.queue import generation_queue
from generation.runner import FLUSH_SECONDS
from tests.factories import CampaignFactory
from tests.fake_openai import Config
from tests.support import WORKER_RECOVERY_INTERVAL, wait_for, wait_for_batch_end

pytestmark = [pytest.mark.workers, pytest.mark.slow]


def assert_exactly(batch, count: int) -> None:
    """The batch has exactly `count` posts, one per position, none left unfinished."""
    posts = Post.objects.filter(batch=batch)
    assert posts.count() == count
    assert sorted(posts.values_list("sequence", flat=True)) == list(range(count))
    assert not posts.filter(status__in=[GenerationStatus.PENDING, GenerationStatus.GENERATING]).exists()
    batch.refresh_from_db()
    assert batch.succeeded_count + batch.failed_count + batch.canceled_count == count


def test_two_workers_share_a_batch(workers, openai_settings, openai_env, fake_openai):
    fake_openai.configure(Config(text_latency=0.05, image_latency=0.05))
    workers.start("alpha", **openai_env, GENERATION_CONCURRENCY=8)
    workers.start("beta", **openai_env, GENERATION_CONCURRENCY=8)
    batch = batch_start(campaign=CampaignFactory(), count=50, actor=None)
    wait_for_batch_end(batch, timeout=90)
    assert (batch.status, batch.succeeded_count, batch.failed_count) == (BatchStatus.SUCCEEDED, 50, 0)
    assert_exactly(batch, 50)
    # Chunk jobs ran on both workers.
    queue = generation_queue()

    def finished_jobs():
        jobs = Job.fetch_many(batch.rq_job_ids, connection=queue.connection)
        return jobs if all(job and job.is_finished for job in jobs) else None

    jobs = wait_for(finished_jobs, timeout=30, message="chunk jobs to finish")
    assert {job.worker_name for job in jobs if job and job.worker_name} == {"alpha", "beta"}
    assert sum(job.return_value()["succeeded"] for job in jobs if job) == 50
    assert fake_openai.stats()["counts"] == {"chat:200": 50, "images:200": 50}


def test_a_worker_killed_mid_batch_loses_no_post(workers, openai_settings, openai_env, fake_openai):
    """SIGKILL one of two workers in the middle of 100 posts: the other takes over its posts after the lease.

    The bound on recovery, from the settings: the dead worker's leases were renewed every
    LEASE/3 seconds, so they expire at most LEASE seconds after the kill. The survivor then
    claims them at once if its runner is still claiming (expired leases come first), or else
    within RECOVERY seconds (the clock's next recovery job, which wakes the idle survivor from
    its blocking dequeue at once) plus RECOVERY seconds of slack; generating them takes one
    post's latency (TEXT + IMAGE) and a flush. On top: a fixed 10 s for forking and for two
    CPU cores shared with other test runs. Anything slower means recovery waited on something
    other than the lease (rq's maintenance, an operator).
    """
    lease, recovery, text, image, concurrency = 5, WORKER_RECOVERY_INTERVAL, 0.3, 0.3, 8
    fake_openai.configure(Config(text_latency=text, image_latency=image))
    env = {**openai_env, "GENERATION_LEASE_SECONDS": lease, "GENERATION_CONCURRENCY": concurrency}
    workers.start("doomed", **env)
    workers.start("survivor", **env)
    batch = batch_start(campaign=CampaignFactory(), count=100, actor=None)

    def doomed_horse() -> int | None:
        children = psutil.Process(workers.processes["doomed"].pid).children()
        holding = children and Post.objects.filter(
            batch=batch, status=GenerationStatus.GENERATING, lease_owner__contains=f":{children[0].pid}:"
        )
        return children[0].pid if holding and holding.exists() else None

    wait_for(lambda: Post.objects.filter(batch=batch, status=GenerationStatus.SUCCEEDED).count() >= 20, timeout=60)
    horse = wait_for(doomed_horse, timeout=60, message="the doomed worker to hold leases")
    workers.kill("doomed")
    killed_at = time.monotonic()
    orphans = list(
        Post.objects.filter(
            batch=batch, status=GenerationStatus.GENERATING, lease_owner__contains=f":{horse}:"
        ).values_list("id", flat=True)
    )
    remaining = Post.objects.filter(batch=batch, status=GenerationStatus.PENDING).count()
    assert orphans

    def orphans_done() -> bool:
        return not Post.objects.filter(
            id__in=orphans, status__in=[GenerationStatus.PENDING, GenerationStatus.GENERATING]
        ).exists()

    wait_for(orphans_done, timeout=120, interval=0.1, message="the dead worker's posts to be finished by another")
    orphans_recovered_in = time.monotonic() - killed_at
    wait_for_batch_end(batch, timeout=120)
    batch_done_in = time.monotonic() - killed_at

    assert (batch.status, batch.succeeded_count, batch.failed_count) == (BatchStatus.SUCCEEDED, 100, 0)
    assert_exactly(batch, 100)
    duplicates = Post.objects.filter(batch=batch).values("sequence").annotate(n=Count("id")).filter(n__gt=1)
    assert not duplicates.exists()
    # The dead worker's posts were taken a second time, and only their new owner wrote them.
    assert set(Post.objects.filter(id__in=orphans).values_list("attempts", flat=True)) == {2}
    assert not Post.objects.filter(batch=batch).exclude(lease_owner="").exists()

    one_post = text + image + FLUSH_SECONDS
    bound = lease + 2 * recovery + one_post + 10
    assert orphans_recovered_in <= bound, f"{orphans_recovered_in:.1f}s > {bound:.1f}s"
    # The rest of the batch, done by the survivor alone: `remaining` posts, `concurrency` at a time.
    batch_bound = bound + math.ceil(remaining / concurrency) * one_post
    assert batch_done_in <= batch_bound, f"{batch_done_in:.1f}s > {batch_bound:.1f}s"
    print(
        f"{len(orphans)} orphaned posts recovered in {orphans_recovered_in:.1f}s (bound {bound:.1f}s); "
        f"batch done {batch_done_in:.1f}s after the kill (bound {batch_bound:.1f}s)"
    )


def test_rate_limit_is_shared_and_no_post_fails(workers, openai_settings, openai_env, fake_openai):
    rpm, burst = 240, 10
    fake_openai.configure(Config(rpm=rpm, text_latency=0.02, image_latency=0.02))
    env = {**openai_env, "GENERATION_RPM": rpm, "GENERATION_BURST": burst, "GENERATION_CONCURRENCY": 16}
    workers.start("one", **env)
    workers.start("two", **env)
    batch = batch_start(campaign=CampaignFactory(), count=25, actor=None)  # 50 requests
    wait_for_batch_end(batch, timeout=120)
    assert (batch.status, batch.succeeded_count) == (BatchStatus.SUCCEEDED, 25)
    stats = fake_openai.stats()
    assert stats["counts"].get("chat:429", 0) + stats["counts"].get("images:429", 0) == 0
    arrivals = sorted(stats["arrivals"])
    # In any window of w seconds the server saw at most burst + rate * w requests. The limiter
    # decides when a request may go; it reaches the server later by however long the client
    # takes to send it, longer for a fresh work horse's first burst on a busy machine, so
    # requests let go 0.25 s apart may arrive together: allow half a second of that.
    send_jitter = 0.5
    for i, start in enumerate(arrivals):
        for j in range(i, len(arrivals)):
            window = arrivals[j] - start
            assert j - i + 1 <= burst + rpm / 60 * (window + send_jitter) + 1


def test_all_workers_killed_then_one_restarted_resumes(workers, openai_settings, openai_env, fake_openai):
    fake_openai.configure(Config(text_latency=0.2, image_latency=0.2))
    env = {**openai_env, "GENERATION_LEASE_SECONDS": 3, "GENERATION_CONCURRENCY": 8}
    workers.start("first", **env)
    batch = batch_start(campaign=CampaignFactory(), count=40, actor=None)
    wait_for(lambda: Post.objects.filter(batch=batch, status=GenerationStatus.SUCCEEDED).count() >= 5, timeout=60)
    workers.kill("first")
    done_at_kill = Post.objects.filter(batch=batch, status=GenerationStatus.SUCCEEDED).count()
    assert done_at_kill < 40
    held = Post.objects.filter(batch=batch, status=GenerationStatus.GENERATING).count()
    workers.start("second", **env)
    wait_for_batch_end(batch, timeout=120)
    assert (batch.status, batch.succeeded_count) == (BatchStatus.SUCCEEDED, 40)
    assert_exactly(batch, 40)
    # The posts the first worker held when it died were taken again, after their lease.
    assert Post.objects.filter(batch=batch, attempts=2).count() == held
    assert not Post.objects.filter(batch=batch, attempts__gt=2).exists()


@pytest.mark.parametrize(
    ("latency", "shutdown", "in_flight_end"),
    [(0.5, 15, GenerationStatus.SUCCEEDED), (20, 1, GenerationStatus.PENDING)],
    ids=["in-flight-posts-finish", "in-flight-posts-handed-back"],
)
def test_a_worker_told_to_stop_leaves_no_post_to_its_leases(
    workers, openai_settings, openai_env, fake_openai, latency, shutdown, in_flight_end
):
    """SIGTERM to the worker (a deploy) mid-batch: it claims nothing more, gives its posts in flight
    GENERATION_SHUTDOWN_SECONDS to finish, hands back the others and exits, all well before the
    leases (5 minutes here) could expire. The next worker then finishes the batch."""
    fake_openai.configure(Config(text_latency=latency, image_latency=0.2))
    env = {
        **openai_env,
        "GENERATION_LEASE_SECONDS": 300,
        "GENERATION_CONCURRENCY": 4,
        "GENERATION_SHUTDOWN_SECONDS": shutdown,
    }
    leaving = workers.start("leaving", **env)
    batch = batch_start(campaign=CampaignFactory(), count=30, actor=None)

    def in_flight() -> list[int] | None:
        ids = list(Post.objects.filter(batch=batch, status=GenerationStatus.GENERATING).values_list("id", flat=True))
        return ids if len(ids) == 4 else None

    held = wait_for(in_flight, timeout=60, interval=0.05, message="the worker to hold 4 posts")
    leaving.send_signal(signal.SIGTERM)
    leaving.wait(timeout=shutdown + 30)

    posts = Post.objects.filter(batch=batch)
    assert not posts.filter(status=GenerationStatus.GENERATING).exists()
    assert not posts.exclude(lease_owner="").exists()
    assert set(posts.filter(id__in=held).values_list("status", flat=True)) == {in_flight_end}
    assert posts.filter(status=GenerationStatus.PENDING).exists()  # it claimed nothing more
    if in_flight_end == GenerationStatus.PENDING:
        assert "shut down: 4 posts handed back unfinished" in workers.log("leaving")

    fake_openai.configure(Config(text_latency=0.05, image_latency=0.05))
    workers.start("next", **env)
    wait_for_batch_end(batch, timeout=120)
    assert (batch.status, batch.succeeded_count) == (BatchStatus.SUCCEEDED, 30)
    assert_exactly(batch, 30)
