"""Load: five users start 200-post batches at once on two workers.

Every post ends, the batches share the workers instead of queueing behind each other, and
the workers' PostgreSQL connections stay within what the settings allow.
"""

import threading
import time
from collections import defaultdict

import psycopg
import pytest
from django.db import connection

from campaigns.models import BatchStatus, GenerationStatus, Post
from campaigns.services import batch_start
from tests.factories import CampaignFactory, UserFactory
from tests.support import wait_for_batch_end
from tests.test_faults import assert_consistent

pytestmark = [pytest.mark.workers, pytest.mark.slow]

WORKERS = ("w1", "w2")
# Invariant 6 (docs/architecture.md): a worker holds at most 2 connections, its work horse's
# database thread and its own main loop (recovery checks), whatever GENERATION_CONCURRENCY is.
CONNECTIONS_PER_WORKER = 2


class ConnectionSampler:
    """Samples pg_stat_activity for the test database every `interval` seconds, in a thread."""

    def __init__(self, database: str, interval: float = 0.05) -> None:
        self.database = database
        self.interval = interval
        self.peaks: dict[str, int] = defaultdict(int)
        self.peak_total = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        params = connection.settings_dict
        with psycopg.connect(
            host=params["HOST"] or "127.0.0.1",
            port=params["PORT"] or 5432,
            user=params["USER"],
            dbname="postgres",
            autocommit=True,
        ) as sampler:
            while not self._stop.is_set():
                rows = sampler.execute(
                    "SELECT application_name, count(*) FROM pg_stat_activity"
                    " WHERE datname = %s AND application_name LIKE 'load-%%' GROUP BY 1",
                    [self.database],
                ).fetchall()
                for name, count in rows:
                    self.peaks[name] = max(self.peaks[name], count)
                self.peak_total = max(self.peak_total, sum(count for _, count in rows))
                self.samples += 1
                self._stop.wait(self.interval)

    def __enter__(self) -> "ConnectionSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def test_five_users_five_batches_two_workers(workers):
    campaigns = [CampaignFactory(owner=UserFactory()) for _ in range(5)]
    for name in WORKERS:
        # Local provider; PGAPPNAME labels each worker's connections (libpq reads it).
        workers.start(name, PGAPPNAME=f"load-{name}", GENERATION_CONCURRENCY=16)
    with ConnectionSampler(connection.settings_dict["NAME"]) as sampler:
        batches = [batch_start(campaign=c, count=200, requested_by=c.owner, actor=None) for c in campaigns]
        for batch in batches:
            wait_for_batch_end(batch, timeout=900)
        time.sleep(1)  # a last look, once the clock had an idle worker run recovery again

    # Every post ended, once.
    for batch in batches:
        assert (batch.status, batch.succeeded_count) == (BatchStatus.SUCCEEDED, 200)
        assert_consistent(batch)
    assert Post.objects.filter(batch__in=batches).count() == 1000
    assert not Post.objects.filter(status__in=[GenerationStatus.PENDING, GenerationStatus.GENERATING]).exists()

    # Fairness: when the first batch finished, how far had each of the others got?
    first_end = min(batch.finished_at for batch in batches)
    progress = [
        Post.objects.filter(batch=batch, generated_at__lte=first_end).count() / batch.requested_count
        for batch in batches
    ]
    spread = max(b.finished_at for b in batches) - first_end
    assert min(progress) >= 0.5, progress

    # Connections: each worker within its allowance, and so all of them together.
    assert sampler.samples > 20
    assert set(sampler.peaks) == {f"load-{name}" for name in WORKERS}, dict(sampler.peaks)
    assert max(sampler.peaks.values()) <= CONNECTIONS_PER_WORKER, dict(sampler.peaks)
    assert sampler.peak_total <= CONNECTIONS_PER_WORKER * len(WORKERS)
    took = max(b.finished_at for b in batches) - min(b.created_at for b in batches)
    print(
        f"1000 posts in {took.total_seconds():.1f}s; progress of each batch when the first finished: "
        f"{[round(p, 2) for p in progress]}; last batch ended {spread.total_seconds():.1f}s after the first; "
        f"connection peaks {dict(sampler.peaks)} (total {sampler.peak_total}, {sampler.samples} samples)"
    )
