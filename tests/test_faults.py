"""Faults the engine survives: dead workers, a restarted Redis, an unreachable PostgreSQL, a bad provider.

Real rqworker processes against PostgreSQL, Redis and the fake OpenAI server. The shared
servers are never stopped: Redis outages use a private redis-server, PostgreSQL outages a
TCP proxy in front of the shared server.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count
from rq import Worker

from campaigns.models import BatchStatus, GenerationStatus, Post
from campaigns.services import batch_start
from generation.queue import generation_queue
from shared.failure_reasons import failure_label
from tests.factories import CampaignFactory
from tests.fake_openai import Config
from tests.support import BASE_DIR, PrivateRedis, database_url, wait_for, wait_for_batch_end
from tests.tcp_proxy import TcpProxy
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

    The posts in flight wait in the rate limiter instead of failing, the workers and the clock
    outlive the outage and the workers list themselves again, and the chunk jobs that were
    queued are re-enqueued by the clock's recovery, run by an idle worker: nobody enqueues
    anything by hand.
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
    batch = batch_start(campaign=CampaignFactory(), count=60, actor=None)
    wait_for(lambda: succeeded(batch) >= 10, timeout=60, message="10 posts")
    private_redis.kill()
    batch.refresh_from_db()
    enqueued_before = set(batch.rq_job_ids)
    time.sleep(4)
    private_redis.start()
    wait_for_batch_end(batch, timeout=180)
    assert (batch.status, batch.succeeded_count, batch.failed_count) == (BatchStatus.SUCCEEDED, 60, 0)
    assert_exactly(batch, 60)
    for name, process in workers.processes.items():
        assert process.poll() is None, f"worker {name} quit:\n{workers.log(name)[-3000:]}"
    assert workers.clock.poll() is None, f"the clock quit:\n{workers.log('clock')[-3000:]}"
    # The queued chunk jobs died with Redis. New ones were enqueued by the workers through
    # recovery.enqueue_lost_work: by the clock's recovery job ("recover") or by a chunk that
    # ended with work left ("continue"), whichever came first; this test enqueued nothing.
    enqueued_after = [job_id for job_id in batch.rq_job_ids if job_id not in enqueued_before]
    assert enqueued_after, batch.rq_job_ids
    assert all(("-recover-" in job_id or "-continue-" in job_id) for job_id in enqueued_after), enqueued_after
    connection = generation_queue().connection
    wait_for(
        lambda: {worker.name for worker in Worker.all(connection=connection)} == {"red", "blue"},
        timeout=30,
        message="both workers to be listed in the new Redis",
    )


def test_a_worker_told_to_stop_while_redis_is_down_still_exits(workers, private_redis):
    """A worker's Redis calls wait for Redis, but not once it is told to stop: a deploy during a
    Redis outage does not have to wait for the process manager's SIGKILL."""
    worker = workers.start("stranded", REDIS_URL=private_redis.url)
    connection = generation_queue().connection
    wait_for(
        lambda: "stranded" in {w.name for w in Worker.all(connection=connection)},
        timeout=60,
        message="the worker to start",
    )
    private_redis.kill()
    wait_for(lambda: "Redis unavailable" in workers.log("stranded"), timeout=60, message="the worker to miss Redis")
    assert worker.poll() is None, workers.log("stranded")[-3000:]
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=60)  # a guard: without it, a worker that kept waiting would hang the test


@pytest.fixture
def database_proxy():
    """A TCP proxy in front of the test database; the workers connect through it."""
    params = connection.settings_dict
    with TcpProxy(params["HOST"] or "127.0.0.1", int(params["PORT"] or 5432)) as proxy:
        yield proxy


def assert_consistent(batch) -> None:
    """Nothing half-written: counters match the posts, every post is final and unleased, images match files."""
    batch.refresh_from_db()
    by_status = dict(Post.objects.filter(batch=batch).values_list("status").annotate(n=Count("id")))
    assert by_status.get(GenerationStatus.SUCCEEDED, 0) == batch.succeeded_count
    assert by_status.get(GenerationStatus.FAILED, 0) == batch.failed_count
    assert by_status.get(GenerationStatus.CANCELED, 0) == batch.canceled_count
    assert not by_status.get(GenerationStatus.PENDING) and not by_status.get(GenerationStatus.GENERATING)
    assert not Post.objects.filter(batch=batch).exclude(lease_owner="").exists()
    assert not Post.objects.filter(batch=batch, lease_expires_at__isnull=False).exists()
    posts = Post.objects.filter(batch=batch)
    referenced = {name for pair in posts.values_list("image", "thumbnail") for name in pair if name}
    assert len(referenced) == 2 * batch.succeeded_count
    folder = Path(settings.MEDIA_ROOT) / "posts" / str(batch.campaign_id)
    # Files from before the batch are an earlier test's whose campaign had this id (ids restart
    # after a test that resets sequences, and a worker process keeps its media folder).
    since = batch.created_at.timestamp()
    files = [path for path in folder.iterdir() if path.stat().st_mtime >= since] if folder.exists() else []
    stored = {f"posts/{batch.campaign_id}/{path.name}" for path in files}
    assert stored - referenced == set(), "image files that no post refers to"
    assert referenced - stored == set(), "posts whose image file is missing"


@pytest.mark.parametrize(
    "outages",
    [[(5.0, 0.0)], [(0.5, 0.7)] * 12],
    ids=["refused-for-5s", "flapping-for-15s"],
)
def test_postgresql_unreachable_for_a_few_seconds(
    workers, database_proxy, openai_settings, openai_env, fake_openai, outages
):
    """PostgreSQL refuses connections and drops open ones mid-batch: workers back off and carry on.

    `outages` is a list of (seconds down, seconds up). The lease (15 s) outlasts every
    outage, so no post may be taken twice: a worker that resumes late, because it kept
    trying connections that died with the outage or waited on the pool's growing
    reconnection delay, would let its leases expire.
    """
    fake_openai.configure(Config(text_latency=0.3, image_latency=0.3))
    through_proxy = database_url().replace(f":{connection.settings_dict['PORT'] or 5432}/", f":{database_proxy.port}/")
    env = {
        **openai_env,
        "DATABASE_URL": through_proxy,
        "GENERATION_LEASE_SECONDS": 15,
        "GENERATION_CONCURRENCY": 6,
    }
    workers.start("north", **env)
    workers.start("south", **env)
    batch = batch_start(campaign=CampaignFactory(), count=120, actor=None)
    wait_for(lambda: succeeded(batch) >= 10, timeout=60, message="10 posts")
    for down, up in outages:
        database_proxy.down()
        time.sleep(down)
        database_proxy.up()
        time.sleep(up)
    wait_for_batch_end(batch, timeout=180)
    assert (batch.status, batch.succeeded_count, batch.failed_count) == (BatchStatus.SUCCEEDED, 120, 0)
    assert_exactly(batch, 120)
    assert_consistent(batch)
    assert set(Post.objects.filter(batch=batch).values_list("attempts", flat=True)) == {1}
    logs = workers.log("north") + workers.log("south")
    # The outage did hit the running batch: a worker's round failed and was retried, or its pool,
    # asked for a connection, kept reconnecting until PostgreSQL was back.
    assert "database unavailable" in logs or "error connecting" in logs
    for name, process in workers.processes.items():
        assert process.poll() is None, f"worker {name} quit:\n{workers.log(name)[-3000:]}"


@pytest.mark.postgres
def test_connections_that_died_in_the_pool_are_replaced_before_use(transactional_db, database_proxy):
    """PostgreSQL restarts while a web process holds idle pooled connections: its next request
    gets a working connection, not an error (CONN_HEALTH_CHECKS: the pool checks before lending)."""
    port = connection.settings_dict["PORT"] or 5432
    script = (
        "from django.db import connection\n"
        "for request in range(2):\n"
        "    with connection.cursor() as cursor:\n"
        "        cursor.execute('SELECT 1')\n"
        "    connection.close()  # as at the end of a request: back to the pool\n"
        "    print('served', flush=True)\n"
        "    input()\n"
    )
    process = subprocess.Popen(
        [sys.executable, str(BASE_DIR / "manage.py"), "shell", "--verbosity", "0", "-c", script],
        env={**os.environ, "DATABASE_URL": database_url().replace(f":{port}/", f":{database_proxy.port}/")},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=BASE_DIR,
    )
    try:
        assert process.stdout.readline().strip() == "served"
        database_proxy.down()  # the server goes away with the pool's idle connection...
        database_proxy.up()  # ...and is back before the next request
        process.stdin.write("\n")
        process.stdin.flush()
        assert process.stdout.readline().strip() == "served", process.stdout.read()
        process.stdin.write("\n")
        process.stdin.flush()
        assert process.wait(timeout=60) == 0, process.stdout.read()
    finally:
        process.kill()


def test_a_faulty_provider_costs_only_the_posts_it_refuses(workers, openai_settings, openai_env, fake_openai):
    """20% of requests fail (429, 500, 503, a hang past the request timeout, malformed JSON, a truncated image).

    Every transient fault is retried until it succeeds; the posts the provider refuses for
    good (HTTP 400, content policy) fail at once with that reason; the batch ends.
    """
    refused = [4, 17, 30]
    fake_openai.configure(
        Config(
            text_latency=0.05,
            image_latency=0.05,
            fault_rate=0.2,
            fault_kinds=["429", "500", "503", "timeout", "malformed_json", "truncated_image"],
            timeout_seconds=3,
            refuse_posts=refused,
        )
    )
    env = {
        **openai_env,
        "GENERATION_CONCURRENCY": 8,
        "GENERATION_REQUEST_TIMEOUT": 1,
        # At 20% a request fails 8 times running once in 400,000: transient faults never cost a post.
        "GENERATION_MAX_TRIES": 8,
    }
    workers.start("east", **env)
    workers.start("west", **env)
    batch = batch_start(campaign=CampaignFactory(platforms=["instagram"]), count=60, actor=None)
    wait_for_batch_end(batch, timeout=300)
    assert (batch.status, batch.succeeded_count, batch.failed_count) == (BatchStatus.PARTIALLY_FAILED, 57, 3)
    assert_exactly(batch, 60)
    assert_consistent(batch)
    failed = {
        sequence: (code, message)
        for sequence, code, message in Post.objects.filter(batch=batch, status=GenerationStatus.FAILED).values_list(
            "sequence", "failure_reason", "error_message"
        )
    }
    assert sorted(failed) == refused
    assert {code for code, _ in failed.values()} == {"content_policy"}
    assert all(message.startswith("refused by the provider's content policy") for _, message in failed.values())
    assert batch.error_summary == "3 failed: Content policy (3)"
    counts = fake_openai.stats()["counts"]
    injected = {key.removeprefix("fault:"): n for key, n in counts.items() if key.startswith("fault:")}
    assert sum(injected.values()) >= 10 and len(injected) >= 4, injected
    print(f"faults injected: {injected}")


@pytest.mark.parametrize(
    ("provider", "engine", "code", "reason"),
    [
        # Every answer takes longer than the request timeout.
        (
            Config(text_latency=3),
            {"GENERATION_REQUEST_TIMEOUT": 0.5, "GENERATION_MAX_TRIES": 2},
            "timeout",
            "request timed out (after 2 tries)",
        ),
        # Transient errors that never stop: the post's deadline ends the retries.
        (
            Config(fault_rate=1.0, fault_kinds=["503"]),
            {"GENERATION_MAX_TRIES": 1000, "GENERATION_POST_DEADLINE": 3},
            "server_error",
            "gave up after the post's deadline: provider error (HTTP 503)",
        ),
    ],
    ids=["slower-than-the-timeout", "errors-past-the-deadline"],
)
def test_a_provider_that_never_recovers_still_ends_the_batch(
    workers, openai_settings, openai_env, fake_openai, provider, engine, code, reason
):
    fake_openai.configure(provider)
    workers.start("lonely", **openai_env, GENERATION_CONCURRENCY=4, **engine)
    batch = batch_start(campaign=CampaignFactory(), count=6, actor=None)
    wait_for_batch_end(batch, timeout=120)
    assert (batch.status, batch.failed_count) == (BatchStatus.FAILED, 6)
    assert set(Post.objects.filter(batch=batch).values_list("failure_reason", "error_message")) == {(code, reason)}
    assert batch.error_summary == f"6 failed: {failure_label(code)} (6)"
    assert_consistent(batch)


def test_a_batch_started_while_redis_is_down_runs_once_it_is_back(workers, private_redis):
    """The batch is in PostgreSQL, which is the truth: a queue that cannot take it yet only delays it."""
    private_redis.kill()
    started = time.monotonic()
    batch = batch_start(campaign=CampaignFactory(), count=10, actor=None)
    print(f"batch_start took {time.monotonic() - started:.1f}s with Redis down")
    assert (batch.status, batch.posts.count()) == (BatchStatus.QUEUED, 10)
    private_redis.start()
    workers.start("late", REDIS_URL=private_redis.url)  # the local provider
    wait_for_batch_end(batch, timeout=120)
    assert (batch.status, batch.succeeded_count) == (BatchStatus.SUCCEEDED, 10)
    assert any("-recover-" in job_id for job_id in batch.rq_job_ids), batch.rq_job_ids
