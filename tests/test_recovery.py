"""Periodic recovery without an operator: the clock has an idle real worker re-enqueue work whose jobs were lost."""

from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from rq import Worker

from campaigns.models import BatchJob, BatchStatus, GenerationStatus, Post
from campaigns.services import batch_start
from generation.queue import generation_queue
from tests.factories import CampaignFactory
from tests.support import wait_for, wait_for_batch_end

pytestmark = [pytest.mark.workers, pytest.mark.slow]

INTERVAL = 1  # GENERATION_RECOVERY_INTERVAL of the worker and of its clock (tests.support.WorkerPool), seconds


def idle_worker(name: str) -> bool:
    connection = redis.Redis.from_url(settings.REDIS_URL)
    return any(worker.name == name and worker.get_state() == "idle" for worker in Worker.all(connection=connection))


def test_an_idle_worker_re_enqueues_a_batch_whose_jobs_are_gone(workers):
    workers.start("watchman", GENERATION_RECOVERY_INTERVAL=INTERVAL)
    wait_for(lambda: idle_worker("watchman"), timeout=60, message="the worker to be idle")

    # A batch whose chunk jobs were lost (deleted from Redis, or never enqueued): 8 posts
    # pending, and 2 taken by a worker that died, under leases that have expired.
    batch = batch_start(campaign=CampaignFactory(), count=10, enqueue=False, actor=None)
    BatchJob.objects.filter(pk=batch.pk).update(rq_job_ids=["batch-lost-0"], status=BatchStatus.RUNNING)
    Post.objects.filter(batch=batch, sequence__lt=2).update(
        status=GenerationStatus.GENERATING,
        lease_owner="dead-host:123:abc",
        lease_expires_at=timezone.now() - timedelta(seconds=30),
        attempts=1,
    )
    assert generation_queue().count == 0

    # Nobody enqueues anything: the clock's recovery job, run by the idle worker, finds the work
    # within a few intervals.
    wait_for_batch_end(batch, timeout=60)
    assert (batch.status, batch.succeeded_count, batch.failed_count) == (BatchStatus.SUCCEEDED, 10, 0)
    assert Post.objects.filter(batch=batch).count() == 10
    assert Post.objects.get(batch=batch, sequence=0).attempts == 2
    assert any(f"batch-{batch.pk}-recover-" in job_id for job_id in batch.rq_job_ids)
    assert "re-enqueued work for 1 batches" in workers.log("watchman")


def test_work_queued_before_a_redis_restart_is_picked_up(workers, clean_redis):
    """Redis lost its queue (restarted without persistence) before any worker ran: nothing is stranded."""
    batch = batch_start(campaign=CampaignFactory(), count=6, actor=None)
    assert generation_queue().count == 1
    clean_redis.flushdb()
    workers.start("after-restart", GENERATION_RECOVERY_INTERVAL=INTERVAL)
    wait_for_batch_end(batch, timeout=60)
    assert (batch.status, batch.succeeded_count) == (BatchStatus.SUCCEEDED, 6)
