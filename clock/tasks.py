"""The periodic tasks: jobs the clock enqueues on the `clock` queue (clock.schedule), run by the workers.

Each is safe to run more than once and at the same time as itself, as happens with two clocks,
a restarted clock, or jobs that queued up while every worker was busy:

- recovery (generation.recovery) asks PostgreSQL for claimable posts and enqueues chunk jobs
  only while the generation queue holds none; a chunk job too many finds nothing to claim and
  ends at once;
- an economy poll (generation.economy) takes each due ProviderBatch row under a lease, claimed
  with SELECT ... FOR UPDATE SKIP LOCKED: two polls never visit one row;
- a webhook sweep (webhooks.queue) may enqueue a due delivery twice, but an attempt claims its
  delivery with a conditional UPDATE that moves its next attempt on: it is attempted once.

On top of that, only the first run of a task in each of its intervals does the work, whichever
clock enqueued it (first_in_interval): several clocks cost a few extra jobs that end at once,
never extra work, and no burst of stale runs follows a worker's long job.

A task that fails logs a warning and ends as a finished job, as the workers' recovery did before
it became a job: the database, Redis or the provider may be away for a moment, and the next
interval tries again.
"""

import logging
from collections.abc import Callable
from typing import TypeVar

import django_rq
from django.db import connections

from generation import recovery
from generation.config import economy_unavailable_reason, engine_config
from generation.jobs import lease_owner
from webhooks import queue as webhook_queue

log = logging.getLogger(__name__)

QUEUE_NAME = "clock"
# A run claims its task's interval for this share of it: a little less than the whole, so that
# the next interval's run, enqueued a few milliseconds early or late, is not turned away.
CLAIMED_SHARE = 0.9

T = TypeVar("T")


def first_in_interval(task: str, every: float) -> bool:
    """Whether this run of `task` is the first of its interval among all runs, from any clock.

    One Redis SET NX whose key expires before the next interval: the first run sets it and
    works, the others find it set and end.
    """
    connection = django_rq.get_connection(QUEUE_NAME)
    claimed = connection.set(f"clock:{task}:claimed", "1", nx=True, px=max(1, int(every * CLAIMED_SHARE * 1000)))
    return bool(claimed)


def run_once_per_interval(task: str, every: float, work: Callable[[], T]) -> T | None:
    """work() unless another run of `task` did it this interval; None then, or when it failed."""
    try:
        if not first_in_interval(task, every):
            return None
        return work()
    except Exception:
        log.warning("periodic task %s failed; the next round tries again", task, exc_info=True)
        return None
    finally:
        connections.close_all()  # as a chunk job does when it ends


def recover_lost_work(*, every: float) -> list[int] | None:
    """Enqueue chunk jobs for posts that nobody works on (a dead worker's, a lost queue's); the batch ids."""
    return run_once_per_interval(
        "recovery", every, lambda: recovery.enqueue_lost_work(config=engine_config(), reason="recover")
    )


def poll_economy(*, every: float) -> int | None:
    """Advance the economy batches that are due (uploads, provider batches, results); the rows visited."""

    def poll() -> int:
        config = engine_config()
        if economy_unavailable_reason(config) is not None:
            return 0  # no Batch API with this provider: no need to import the economy's SDK
        from generation import economy  # the workers import it before they fork (generation.worker)

        return economy.poll(config=config, owner=f"{lease_owner()}:economy")

    return run_once_per_interval("economy", every, poll)


def sweep_webhooks(*, every: float) -> int | None:
    """Enqueue the webhook deliveries that are due: retries, and first attempts a lost queue forgot."""
    return run_once_per_interval("webhooks", every, webhook_queue.enqueue_due_deliveries)
