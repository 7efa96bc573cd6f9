"""The clock: rq's cron scheduler enqueues each periodic task on its interval, and two clocks do the work of one."""

import logging
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import django_rq
import pytest
import redis
from django.utils import timezone
from rq.cron import CronScheduler, get_cron_job_history_key, get_cron_job_ids

from campaigns.models import BatchJob, BatchStatus, GenerationStatus, Post
from campaigns.services import batch_start
from clock import tasks
from clock.log_filter import QuietClockJobs
from clock.scheduler import Clock
from generation.queue import generation_queue
from tests.factories import CampaignFactory
from tests.support import BASE_DIR, CLOCK_COMMAND, PrivateRedis, all_at_once, wait_for

# Each cron job's name in rq, and the job it enqueues.
TASKS = {
    "clock.recovery": "clock.tasks.recover_lost_work",
    "clock.economy": "clock.tasks.poll_economy",
    "clock.webhooks": "clock.tasks.sweep_webhooks",
}


def queued(func_name: str | None = None) -> list:
    jobs = django_rq.get_queue(tasks.QUEUE_NAME).get_jobs()
    return [job for job in jobs if func_name is None or job.func_name == func_name]


def start_clock(log_path, name: str, **env: str) -> subprocess.Popen:
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, str(BASE_DIR / CLOCK_COMMAND[0]), *CLOCK_COMMAND[1:], "--name", name],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=BASE_DIR,
        )


def test_the_clock_enqueues_each_periodic_task_on_its_interval(settings, monkeypatch):
    settings.GENERATION_RECOVERY_INTERVAL = 2.0
    start = datetime.now(UTC)
    moment = [start]
    monkeypatch.setattr("rq.cron.now", lambda: moment[0])  # rq's cron scheduler reads the time here
    clock = Clock()
    assert {job.name: (job.func_name, job.interval) for job in clock.get_jobs()} == {
        name: (func_name, 2.0) for name, func_name in TASKS.items()
    }

    def at(seconds: float) -> list[str]:
        """What the clock enqueues `seconds` after its start."""
        moment[0] = start + timedelta(seconds=seconds)
        return sorted(job.name for job in clock.enqueue_jobs())

    assert at(0) == sorted(TASKS)  # at once when it starts
    assert at(1.9) == []
    assert at(2) == sorted(TASKS)
    assert at(3.5) == []
    assert at(4.5) == sorted(TASKS)  # late (a busy machine): once, and the next one counts from now
    assert at(6) == []
    assert at(6.5) == sorted(TASKS)

    jobs = queued()
    assert sorted(job.func_name for job in jobs) == sorted(list(TASKS.values()) * 4)
    for job in jobs:
        # The interval goes with the job, for its once-per-interval check; a run nobody took
        # within three intervals (10 s at least) is dropped, and its result never kept.
        assert (job.origin, job.kwargs, job.ttl, job.result_ttl) == ("clock", {"every": 2.0}, 10, 0)
    for name in TASKS:
        assert len(get_cron_job_ids(name, clock.connection)) == 4


def lost_batch(count: int = 10) -> BatchJob:
    """A batch whose chunk jobs were lost: pending posts, and 2 under a dead worker's expired leases."""
    batch = batch_start(campaign=CampaignFactory(), count=count, enqueue=False, actor=None)
    BatchJob.objects.filter(pk=batch.pk).update(rq_job_ids=["batch-lost-0"], status=BatchStatus.RUNNING)
    Post.objects.filter(batch=batch, sequence__lt=2).update(
        status=GenerationStatus.GENERATING,
        lease_owner="dead-host:123:abc",
        lease_expires_at=timezone.now() - timedelta(seconds=30),
        attempts=1,
    )
    return batch


def test_two_clocks_at_once_recover_lost_work_once(transactional_db, settings):
    """Two clocks enqueue recovery at the same moment and two workers run both jobs at once:
    the lost work is enqueued once, and the next interval's recovery works again."""
    settings.GENERATION_RECOVERY_INTERVAL = 1.0
    batch = lost_batch()
    Clock().enqueue_jobs()
    Clock().enqueue_jobs()
    runs = queued(TASKS["clock.recovery"])
    assert len(runs) == 2
    assert generation_queue().count == 0

    results = all_at_once([lambda job=job: job.func(*job.args, **job.kwargs) for job in runs])

    assert sorted(results, key=repr) == [None, [batch.pk]]  # one did the work; the other found it done
    batch.refresh_from_db()
    assert len([job_id for job_id in batch.rq_job_ids if "-recover-" in job_id]) == 1
    assert generation_queue().count == 1  # 10 posts: one chunk job's worth, enqueued once

    # Redis loses that job too; by the next interval, recovery finds the work again.
    generation_queue().empty()
    assert runs[0].func(**runs[0].kwargs) is None  # still this interval
    time.sleep(1.0)
    assert runs[0].func(**runs[0].kwargs) == [batch.pk]
    assert generation_queue().count == 1


@pytest.mark.parametrize(
    ("task", "work"),
    [
        (tasks.poll_economy, "generation.economy.poll"),
        (tasks.sweep_webhooks, "webhooks.queue.enqueue_due_deliveries"),
    ],
    ids=["economy", "webhooks"],
)
def test_two_runs_of_a_periodic_task_at_once_do_its_work_once(task, work, monkeypatch):
    calls = []

    def slow_work(**kwargs) -> int:
        calls.append(kwargs)
        time.sleep(0.2)
        return 1

    monkeypatch.setattr(work, slow_work)
    monkeypatch.setattr(tasks, "economy_unavailable_reason", lambda config: None)  # as with the openai provider
    results = all_at_once([lambda: task(every=60.0), lambda: task(every=60.0)])
    assert sorted(results, key=repr) == [1, None]
    assert len(calls) == 1
    assert task(every=60.0) is None  # and no more this interval


def test_a_periodic_task_that_fails_ends_as_a_finished_job_and_tries_again_next_interval(monkeypatch, caplog):
    def database_away() -> int:
        raise ConnectionError("the database is away")

    monkeypatch.setattr("webhooks.queue.enqueue_due_deliveries", database_away)
    assert tasks.sweep_webhooks(every=0.5) is None
    assert "periodic task webhooks failed; the next round tries again" in caplog.text
    monkeypatch.setattr("webhooks.queue.enqueue_due_deliveries", lambda: 3)
    time.sleep(0.5)
    assert tasks.sweep_webhooks(every=0.5) == 3


@pytest.mark.slow
def test_manage_py_clock_keeps_its_intervals_and_stops_on_sigterm(tmp_path):
    connection = django_rq.get_connection(tasks.QUEUE_NAME)
    process = start_clock(tmp_path / "clock.log", "timekeeper", GENERATION_RECOVERY_INTERVAL="1")
    try:

        def four_rounds() -> bool:
            return all(len(get_cron_job_ids(name, connection)) >= 4 for name in TASKS)

        wait_for(four_rounds, timeout=60, message="four rounds of each periodic task")
        assert [scheduler.name for scheduler in CronScheduler.all(connection)] == ["timekeeper"]
        for name in TASKS:
            history = connection.zrange(get_cron_job_history_key(name), 0, -1, withscores=True)
            times = [score for _, score in history]
            gaps = [later - earlier for earlier, later in pairwise(times)]
            assert all(gap >= 0.9 for gap in gaps), gaps  # never early: a second apart, or late on a busy machine
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert CronScheduler.all(connection) == []  # it deregistered itself


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path / "redis")
    yield server
    server.stop()


@pytest.mark.slow
def test_the_clock_waits_out_a_redis_restart_and_still_stops_while_redis_is_down(tmp_path, private_redis):
    """Like a worker, the clock outlives Redis outages, lists itself again in a Redis that came back
    empty, and, told to stop while Redis is away, exits without waiting for it."""
    log = tmp_path / "clock.log"
    process = start_clock(log, "patient", REDIS_URL=private_redis.url, GENERATION_RECOVERY_INTERVAL="1")
    try:

        def enqueued_and_listed() -> bool:
            connection = redis.Redis.from_url(private_redis.url)
            try:
                listed = [scheduler.name for scheduler in CronScheduler.all(connection)] == ["patient"]
                return listed and bool(get_cron_job_ids("clock.recovery", connection))
            finally:
                connection.close()

        wait_for(enqueued_and_listed, timeout=60, message="the clock to run")
        private_redis.kill()
        wait_for(lambda: "Redis unavailable" in log.read_text(), timeout=60, message="the clock to miss Redis")
        time.sleep(2)
        assert process.poll() is None, log.read_text()[-3000:]

        private_redis.start()  # empty
        wait_for(enqueued_and_listed, timeout=60, message="the clock to carry on in the new Redis")

        private_redis.kill()
        wait_for(lambda: log.read_text().count("Redis unavailable") >= 2, timeout=60, message="the second outage")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()


def test_rq_lines_about_the_clocks_jobs_stay_out_of_the_logs_and_its_failures_do_not():
    """rq logs each job it runs and each job the cron enqueues: several lines a second for the clock."""
    quiet = QuietClockJobs()

    def record(logger: str, level: int, message: str, *args: object) -> logging.LogRecord:
        return logging.LogRecord(logger, level, __file__, 1, message, args, None)

    colour = "\x1b[32mclock\x1b[39;49;00m"  # rq colours a queue's name on a terminal
    dropped = [
        record("rq.cron", logging.INFO, "Enqueued job recover_lost_work to queue clock"),
        record("rq.worker", logging.INFO, "%s: %s (%s)", colour, "clock.tasks.poll_economy(every=3.0)", "id"),
        record("rq.worker", logging.INFO, "Successfully completed %s job in %ss", "clock.tasks.sweep_webhooks()", 0),
        record("rq.worker", logging.INFO, "Worker %s: %s: %s (%s)", "w1", colour, "Job OK", "id"),
    ]
    kept = [
        record("rq.worker", logging.INFO, "%s: %s (%s)", "generation", "generation.jobs.run_chunk(7)", "id"),
        record("rq.worker", logging.WARNING, "%s: %s (%s)", "clock", "clock.tasks.poll_economy() timed out", "id"),
        record("clock.tasks", logging.INFO, "recovery enqueued 2 chunk jobs"),
    ]
    assert [quiet.filter(r) for r in dropped] == [False] * len(dropped)
    assert [quiet.filter(r) for r in kept] == [True] * len(kept)
