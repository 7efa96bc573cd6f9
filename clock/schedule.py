"""What the clock enqueues, and how often: the project's one list of periodic tasks (docs/workers.md).

A new periodic task (publishing the posts that are due, next) is a function in clock.tasks, safe
to run twice and at once, and one line in periodic_tasks().
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from rq.cron import CronScheduler

from clock import tasks

# Chunk jobs keep their failures a week; so do these (a timeout is their only way to fail).
FAILURE_TTL = 7 * 24 * 3600


@dataclass(frozen=True)
class Periodic:
    name: str
    task: Callable[..., object]
    every: float  # seconds
    timeout: int  # seconds a run may take before rq stops it

    @property
    def stale_after(self) -> int:
        """Seconds a run may wait on the queue (every worker busy) before rq drops it: newer runs
        are queued behind it by then, and one is all it takes."""
        return max(10, math.ceil(3 * self.every))


def periodic_tasks() -> list[Periodic]:
    every = settings.GENERATION_RECOVERY_INTERVAL
    return [
        Periodic("recovery", tasks.recover_lost_work, every, timeout=300),
        # One round visits up to 20 provider batches, each possibly a large file to read: minutes.
        Periodic("economy", tasks.poll_economy, every, timeout=3600),
        Periodic("webhooks", tasks.sweep_webhooks, every, timeout=300),
    ]


def register(scheduler: CronScheduler) -> None:
    """Register every periodic task with rq's cron scheduler, on the clock's queue."""
    for periodic in periodic_tasks():
        scheduler.register(
            periodic.task,
            tasks.QUEUE_NAME,
            kwargs={"every": periodic.every},
            # rq's CronJob computes with timedelta(seconds=interval): a float interval works,
            # though its annotation says int (GENERATION_RECOVERY_INTERVAL may be 0.5).
            interval=periodic.every,  # type: ignore[arg-type]
            job_timeout=periodic.timeout,
            ttl=periodic.stale_after,
            result_ttl=0,
            failure_ttl=FAILURE_TTL,
            name=f"clock.{periodic.name}",
        )
