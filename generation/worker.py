"""The RQ worker class for this project (settings.RQ["WORKER_CLASS"]).

It adds four things to rq's forking Worker:
- while idle it runs recovery every GENERATION_RECOVERY_INTERVAL seconds, so work lost to
  a dead worker or a restarted Redis is picked up without an operator or rq's 10-minute
  maintenance;
- it closes its database connections (and Django's pool) before each fork, so a work
  horse never shares a socket with its parent;
- it outlives a Redis outage. rq retries a failed dequeue, but any other Redis error
  (a heartbeat while a job runs, the job's status once its horse ends, the suspension
  check) ends rq's work loop, and the worker with it. Here those are bookkeeping that is
  skipped while Redis is away: the posts' state lives in PostgreSQL, a running horse
  carries on under its leases, and recovery re-enqueues whatever the lost queue held;
- told to stop (SIGTERM, SIGINT) while a job runs, it passes SIGTERM on to the work horse,
  which rq puts in a process group of its own: the horse's runner then finishes its posts in
  flight or hands them back (generation.jobs.shut_down_on_sigterm) before the worker exits.
"""

import contextlib
import logging
import os
import signal
import time

import redis
from rq import worker_registration
from rq.worker import Worker

from generation import recovery
from generation.backoff import WORKER_REDIS
from generation.config import EngineConfig, engine_config
from generation.store import close_database_connections

log = logging.getLogger(__name__)

REDIS_UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def preload_engine(config: EngineConfig) -> None:
    """Import what every chunk job imports, in the worker, before it forks work horses.

    rq forks a work horse per job; a horse inherits these modules instead of importing them
    again (the openai SDK alone took ~0.3 s of every job's start, more on a busy machine).
    """
    from importlib import import_module

    import_module("generation.jobs")
    import_module("generation.providers.openai_api" if config.provider == "openai" else "generation.providers.local")


class GenerationWorker(Worker):
    _last_recovery: float = 0.0
    _redis_lost: bool = False
    # rq waits up to a minute between tries while Redis is away; a few seconds is enough,
    # so that work resumes soon after Redis does.
    max_connection_wait_time = 5.0

    @property
    def recovery_interval(self) -> float:
        return self.config.recovery_interval

    def __init__(self, *args, **kwargs) -> None:
        self.config = engine_config()  # before rq's __init__, which reads dequeue_timeout
        super().__init__(*args, **kwargs)
        preload_engine(self.config)

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
            try:
                super().run_maintenance_tasks()
            except REDIS_UNAVAILABLE as exc:
                self._lost_redis("cleaning registries", exc)
        if self.recovery_due:
            self._last_recovery = time.monotonic()
            try:
                recovery.enqueue_lost_work(config=self.config)
            except Exception:
                # The database or Redis may be away for a moment; the next round tries again.
                log.warning("recovery check failed", exc_info=True)
            finally:
                close_database_connections()

    def handle_warm_shutdown_request(self) -> None:
        super().handle_warm_shutdown_request()
        if self.horse_pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.horse_pid, signal.SIGTERM)

    def execute_job(self, job, queue) -> None:
        close_database_connections()
        try:
            super().execute_job(job, queue)
        except REDIS_UNAVAILABLE as exc:
            # Before the fork (the job is then lost with the queue) or after the horse ended
            # (its status could not be read or written): either way the posts are safe.
            self._lost_redis(f"running job {job.id}", exc)
            if self.horse_pid:
                self.wait_for_horse()
                self._horse_pid = 0

    # Redis outages ------------------------------------------------------------------------

    def check_for_suspension(self, burst: bool) -> None:
        try:
            super().check_for_suspension(burst)
        except REDIS_UNAVAILABLE as exc:
            self._lost_redis("checking for suspension", exc)

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        # rq retries the dequeue itself, but not the state update before it.
        failures = 0
        while True:
            try:
                return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
            except REDIS_UNAVAILABLE as exc:
                self._lost_redis("waiting for work", exc)
                failures += 1
                time.sleep(WORKER_REDIS.delay(failures))

    def heartbeat(self, timeout=None, pipeline=None) -> None:
        if pipeline is not None:
            super().heartbeat(timeout, pipeline)
            return
        try:
            super().heartbeat(timeout)
            # A Redis that restarted empty has forgotten this worker; the heartbeat only
            # wrote its last_heartbeat back.
            forgotten = self._redis_lost or not self.connection.hexists(self.key, "birth")
        except REDIS_UNAVAILABLE as exc:
            self._lost_redis("sending a heartbeat", exc)
            return
        if forgotten:
            self._register_again()

    def maintain_heartbeats(self, job, execution) -> None:
        # Called while a horse runs: failing here would leave the horse without its monitor.
        try:
            super().maintain_heartbeats(job, execution)
        except REDIS_UNAVAILABLE as exc:
            self._lost_redis(f"monitoring job {job.id}", exc)

    def _lost_redis(self, doing: str, exc: Exception) -> None:
        if not self._redis_lost:
            log.warning("Redis unavailable while %s (%s); carrying on without it until it returns", doing, exc)
        self._redis_lost = True

    def _register_again(self) -> None:
        """Redis is back, empty after a restart: list this worker again, as its birth did."""
        try:
            with self.connection.pipeline() as pipeline:
                pipeline.hset(self.key, mapping=self.serialize())
                worker_registration.register(self, pipeline)
                pipeline.expire(self.key, self.worker_ttl + 60)
                pipeline.execute()
        except REDIS_UNAVAILABLE:
            return
        self._redis_lost = False
        log.warning("Redis is back; worker %s registered itself again", self.name)
