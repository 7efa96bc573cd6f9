"""The clock: rq's cron scheduler, through django-rq, with the periodic tasks of clock.schedule.

`manage.py clock` runs one. It only enqueues: every task runs as a job on the `clock` queue, which
every worker takes from first. Several clocks (a restart overlapping the old one, one per
machine) are safe: the tasks do their work once per interval whoever enqueued them (clock.tasks).

Two things rq's CronScheduler does not do, done here:
- it waits for Redis: rq's loop ends, and the process with it, on the first Redis error; the
  clock's client waits instead (generation.worker.WaitForRedis, the workers' policy), and rq's
  heartbeat lists the clock again in a Redis that restarted empty;
- told to stop while Redis is away, it still exits (register_death): rq registers the
  scheduler's death on its way out, which would wait for Redis as long as it takes.
"""

import contextlib
from typing import Any

import redis.exceptions
from django_rq.cron import DjangoCronScheduler

from clock import schedule
from generation.worker import WaitForRedis


class Clock(DjangoCronScheduler):
    def __init__(self, name: str = "") -> None:
        super().__init__(name=name)
        schedule.register(self)  # django-rq takes the connection from the first task's queue (RQ_QUEUES)
        WaitForRedis.patiently(self.connection)

    def register_death(self, pipeline: Any = None) -> None:
        # rq calls this once told to stop (SIGTERM, SIGINT): no more waiting for Redis from here on,
        # and a Redis that is away simply does not hear of it (the entry expires on its own).
        WaitForRedis.stop_waiting()
        with contextlib.suppress(redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            super().register_death(pipeline)
