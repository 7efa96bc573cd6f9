"""Faults the engine survives: dead workers, a restarted Redis, an unreachable PostgreSQL, a bad provider.

Real rqworker processes against PostgreSQL, Redis and the fake OpenAI server. The shared
servers are never stopped: Redis outages use a private redis-server, PostgreSQL outages a
TCP proxy in front of the shared server.
"""

import time

import pytest
from rq import Worker

from campaigns.models import BatchStatus, GenerationStatus, Post
from campaigns.services import batch_start
from generation import dispatch
from tests.factories import CampaignFactory
from tests.fake_openai import Config
from tests.support import PrivateRedis, wait_for, wait_for_batch_end
from tests.test_workers import assert_exactly

pytestmark = [pytest.mark.workers, pytest.mark.slow]


@pytest.fixture
def private_redis(tmp_path, settings):
    """A redis-server of this test's own, used by this process and by the workers it starts."""
    server = PrivateRedis(tmp_path / "redis")
    settings.REDIS_URL = server.url
    settings.RQ_QUEUES = {name: {**queue, "URL": server.url} for name, queue in settings.RQ_QUEUES.items()}
    yield server
    server.stop()


def succeeded(batch) -> int:
    return Post.objects.filter(batch=batch, status=GenerationStatus.SUCCEEDED).count()


def test_redis_restarted_mid_batch(workers, private_redis, openai_settings, openai_env, fake_openai):
    """Redis dies (SIGKILL) in the middle of a batch and comes back empty, as it would without persistence.

    The posts in flight wait in the rate limiter instead of failing, the workers outlive the
    outage and list themselves again, and the chunk jobs that were queued are re-enqueued by
    the idle workers' recovery: nobody enqueues anything by hand.
    """
    fake_openai.configure(Config(text_latency=0.5, image_latency=0.5))
    env = {
        **openai_env,
        "REDIS_URL": private_redis.url,
        "GENERATION_LEASE_SECONDS": 5,
        "GENERATION_CONCURRENCY": 4,
        "GENERATION_CHUNK_SECONDS": 2,
    }
    workers.start("red", **env)
    workers.start("blue", **env)
    batch = batch_start(campaign=CampaignFactory(), count=60)
    wait_for(lambda: succeeded(batch) >= 10, timeout=60, message="10 posts")
    private_redis.kill()
    time.sleep(4)
    private_redis.start()
    wait_for_batch_end(batch, timeout=180)
    assert (batch.status, batch.succeeded_count, batch.failed_count) == (BatchStatus.SUCCEEDED, 60, 0)
    assert_exactly(batch, 60)
    for name, process in workers.processes.items():
        assert process.poll() is None, f"worker {name} quit:\n{workers.log(name)[-3000:]}"
    # The queued chunk jobs died with Redis; recovery enqueued new ones.
    assert any("-recover-" in job_id for job_id in batch.rq_job_ids), batch.rq_job_ids
    connection = dispatch.generation_queue().connection
    wait_for(
        lambda: {worker.name for worker in Worker.all(connection=connection)} == {"red", "blue"},
        timeout=30,
        message="both workers to be listed in the new Redis",
    )
