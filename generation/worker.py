"""The RQ worker class for this project (settings.RQ["WORKER_CLASS"]).

rq's forking Worker runs the chunk jobs as it ships, with four changes, each made where rq
offers no setting or hook for it (every override below names the rq behaviour it changes):
- while idle it runs recovery every GENERATION_RECOVERY_INTERVAL seconds, so work lost to
  a dead worker or a restarted Redis is picked up without an operator or rq's 10-minute
  maintenance, and advances the economy batches that are due (generation.economy); after a
  Redis restart it also lists itself again;
- it outlives a Redis outage: its Redis clients wait for Redis (backoff.WORKER_REDIS) where
  rq would end its work loop, and the worker with it, on the first Redis error outside its
  dequeue. The posts' state lives in PostgreSQL, a running horse carries on under its leases,
  and recovery re-enqueues whatever a lost queue held;
- told to stop (SIGTERM, SIGINT) while a job runs, it passes SIGTERM on to the work horse,
  which rq puts in a process group of its own: the horse's runner then finishes its posts in
  flight or hands them back (generation.jobs.shut_down_on_sigterm) before the worker exits;
- it imports the engine before forking, so that each work horse inherits it.

The worker process itself touches the database only for recovery, and closes its connections
(and Django's pool) right after: a work horse forked next must never share a socket with it.
"""

import contextlib
import logging
import os
import signal
import time
from importlib import import_module
from typing import Any

import redis.exceptions
from redis.backoff import AbstractBackoff
from redis.retry import Retry
from rq import worker_registration
from rq.worker import Worker

from generation import economy, recovery
from generation.backoff import WORKER_REDIS
from generation.config import EngineConfig, engine_config
from generation.store import close_database_connections
from webhooks import queue as webhook_queue

log = logging.getLogger(__name__)


class WaitForRedis(AbstractBackoff):
    """redis-py's backoff for the Redis clients of a long-running process (a worker, the clock):
    the WORKER_REDIS policy, a warning when a call first finds Redis away, and no more waiting
    once the process is told to stop."""

    # redis-py gives each connection a copy of its Retry (and of this backoff): the flag lives on
    # the class, one for the whole process.
    stopping = False

    def reset(self) -> None:
        pass

    def compute(self, failures: int) -> float:
        if WaitForRedis.stopping:
            raise redis.exceptions.ConnectionError("Redis is away and this process, told to stop, no longer waits")
        if failures == 1:
            log.warning("Redis unavailable; waiting for it, and carrying on when it returns")
        return WORKER_REDIS.delay(failures)

    @classmethod
    def patiently(cls, client: redis.Redis) -> None:
        """Make every call of `client` (and of the connections in its pool) wait for Redis, as long as it takes."""
        client.set_retry(Retry(cls(), retries=-1))

    @classmethod
    def stop_waiting(cls) -> None:
        cls.stopping = True


def preload_engine(config: EngineConfig) -> None:
    """Import and make, in the worker before it forks work horses, what every chunk job needs.

    rq forks a work horse per job; a horse inherits these modules instead of importing them
    again (the openai SDK alone took ~0.3 s of every job's start, more on a busy machine), with
    what the SDK would load on its first request (generation.providers.openai_api.preload).
    """
    import_module("generation.jobs")
    if config.provider == "openai":
        import_module("generation.providers.openai_api").preload()
    else:
        import_module("generation.providers.local")


class GenerationWorker(Worker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.config = engine_config()  # before rq's __init__, which reads dequeue_timeout
        self._last_recovery = 0.0
        super().__init__(*args, **kwargs)
        # rq ends its work loop on any Redis error but a failed dequeue (a heartbeat, the job's
        # status once its horse ends, the suspension check): every call of the worker's clients,
        # its queues' included, waits for Redis instead, as long as it takes.
        for client in (self.connection, *(queue.connection for queue in self.queues)):
            WaitForRedis.patiently(client)
        preload_engine(self.config)

    @property
    def dequeue_timeout(self) -> int:
        # rq blocks on the queue for worker_ttl - 15 seconds (405 by default) before it looks at
        # its maintenance again: wake up in time for the next recovery.
        return max(1, min(super().dequeue_timeout, int(self.config.recovery_interval)))

    @property
    def should_run_maintenance_tasks(self) -> bool:
        # rq's maintenance (cleaning its registries) comes every maintenance_interval, 10 minutes;
        # recovery comes every recovery interval besides.
        return super().should_run_maintenance_tasks or self._recovery_due

    def run_maintenance_tasks(self) -> None:
        if super().should_run_maintenance_tasks:
            super().run_maintenance_tasks()
        if self._recovery_due:
            self._last_recovery = time.monotonic()
            self._list_again_if_forgotten()
            try:
                recovery.enqueue_lost_work(config=self.config)
                # Webhook retries come due in PostgreSQL, not in an RQ scheduler (webhooks.queue).
                webhook_queue.enqueue_due_deliveries()
                # Economy batches are followed here too: uploads, polls and results, no other process.
                economy.poll(config=self.config, owner=f"{self.name}:economy")
            except Exception:
                # The database, Redis or the provider may be away for a moment; the next round tries again.
                log.warning("recovery check failed", exc_info=True)
            finally:
                close_database_connections()

    def handle_warm_shutdown_request(self) -> None:
        # rq lets the horse run its job to the end (a chunk: up to GENERATION_CHUNK_SECONDS) and
        # never signals it; our horse finishes or hands back its posts within shutdown_seconds.
        super().handle_warm_shutdown_request()
        # A worker told to stop no longer waits for Redis: it exits even while Redis is away.
        WaitForRedis.stop_waiting()
        if self.horse_pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.horse_pid, signal.SIGTERM)

    @property
    def _recovery_due(self) -> bool:
        return time.monotonic() - self._last_recovery >= self.config.recovery_interval

    def _list_again_if_forgotten(self) -> None:
        """A Redis that restarted empty has forgotten this worker: list it again, as rq's
        register_birth did (rq's heartbeats only write its last_heartbeat back)."""
        if self.connection.sismember(self.redis_workers_keys, self.key):
            return
        with self.connection.pipeline() as pipeline:
            pipeline.hset(self.key, mapping=self.serialize())
            worker_registration.register(self, pipeline)
            pipeline.expire(self.key, self.worker_ttl + 60)
            pipeline.execute()
        log.warning("Redis had forgotten worker %s; it listed itself again", self.name)
