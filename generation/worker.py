"""The RQ worker class for this project (settings.RQ["WORKER_CLASS"]).

It adds two things to rq's forking Worker:
- while idle it runs recovery every GENERATION_RECOVERY_INTERVAL seconds, so work lost to
  a dead worker or a restarted Redis is picked up without an operator or rq's 10-minute
  maintenance;
- it closes its database connections (and Django's pool) before each fork, so a work
  horse never shares a socket with its parent.
"""

import logging
import time

from django.conf import settings
from django.db import connections
from rq.worker import Worker

from generation import recovery

log = logging.getLogger(__name__)


def close_database_connections() -> None:
    for connection in connections.all(initialized_only=True):
        connection.close()
        if getattr(connection, "pool", None) is not None:
            connection.close_pool()


def preload_engine() -> None:
    """Import what every chunk job imports, in the worker, before it forks work horses.

    rq forks a work horse per job; a horse inherits these modules instead of importing them
    again (the openai SDK alone took ~0.3 s of every job's start, more on a busy machine).
    """
    from importlib import import_module

    import_module("generation.jobs")
    import_module(
        "generation.providers.openai_api" if settings.GENERATION_PROVIDER == "openai" else "generation.providers.local"
    )


class GenerationWorker(Worker):
    _last_recovery: float = 0.0

    @property
    def recovery_interval(self) -> float:
        return settings.GENERATION_RECOVERY_INTERVAL

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        preload_engine()

    @property
    def dequeue_timeout(self) -> int:
        # Wake up from the blocking pop often enough to run recovery on time.
        return max(1, min(super().dequeue_timeout, int(self.recovery_interval)))

    @property
    def recovery_due(self) -> bool:
        return time.monotonic() - self._last_recovery >= self.recovery_interval

    @property
    def should_run_maintenance_tasks(self) -> bool:
        return super().should_run_maintenance_tasks or self.recovery_due

    def run_maintenance_tasks(self) -> None:
        if super().should_run_maintenance_tasks:
            super().run_maintenance_tasks()
        if self.recovery_due:
            self._last_recovery = time.monotonic()
            try:
                recovery.enqueue_lost_work()
            except Exception:
                # The database or Redis may be away for a moment; the next round tries again.
                log.warning("recovery check failed", exc_info=True)
            finally:
                close_database_connections()

    def execute_job(self, job, queue) -> None:
        close_database_connections()
        super().execute_job(job, queue)
