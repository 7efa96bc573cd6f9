"""The RQ worker class for this project (settings.RQ["WORKER_CLASS"]).

rq's forking Worker, run by `manage.py rqworker clock generation default` (docs/workers.md). It
runs jobs only: the periodic work (recovery, economy polls, webhook sweeps) reaches it as jobs
on the `clock` queue, which the clock process enqueues (clock/). What is left here is what rq
offers no option, argument or hook for; each override names the rq behaviour it changes:

- it outlives a Redis outage (__init__): its Redis clients wait for Redis (backoff.WORKER_REDIS)
  where rq 3 ends its work loop, and the worker with it, on the first Redis error outside its
  dequeue (a heartbeat, the job's status once its horse ends, the suspension check). rq takes
  the connection django-rq builds from a URL and has no setting for its retry policy. The
  posts' state lives in PostgreSQL, a running horse carries on under its leases, and recovery
  re-enqueues whatever a lost queue held;
- after a Redis restart it lists itself again (heartbeat): rq 3's heartbeats write the worker's
  last_heartbeat back, and even its whole hash, but never the set rq lists workers from, so a
  Redis that restarted empty would show no worker until each one restarted;
- told to stop (SIGTERM, SIGINT) while a job runs, it passes SIGTERM on to the work horse
  (handle_warm_shutdown_request, the method rq's own HerokuWorker overrides for the same
  purpose): rq puts the horse in a process group of its own and lets it run its job to the
  end, which for a chunk is up to GENERATION_CHUNK_SECONDS. Our horse's runner finishes its
  posts in flight or hands them back (generation.jobs.shut_down_on_sigterm) within
  GENERATION_SHUTDOWN_SECONDS, and the worker exits;
- it imports the engine before forking (__init__), so that each work horse inherits it.

The worker process itself never touches the database: a work horse forked from it must never
share a socket with it.
"""

import logging
import signal
from importlib import import_module
from typing import Any

import redis.exceptions
from redis.backoff import AbstractBackoff
from redis.retry import Retry
from rq.worker import Worker

from generation.backoff import WORKER_REDIS
from generation.config import EngineConfig, engine_config

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
    """Import and make, in the worker before it forks work horses, what the engine's jobs need.

    rq forks a work horse per job; a horse inherits these modules instead of importing them
    again (the openai SDK alone took ~0.3 s of every job's start, more on a busy machine), with
    what the SDK would load on its first request (generation.providers.openai_api.preload).
    """
    import_module("generation.jobs")
    import_module("generation.recovery")
    if config.provider == "openai":
        import_module("generation.providers.openai_api").preload()
        import_module("generation.economy")  # the clock's economy polls, which only the openai provider has
    else:
        import_module("generation.providers.local")


class GenerationWorker(Worker):
    """rq's Worker with three changes rq has no option or hook for (see the module's docstring)."""

    # rq's own switch: no "result discarded immediately" line after each job (the clock's keep none).
    log_result_lifespan = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # rq takes its connection as django-rq built it from the URL: no setting for its retry
        # policy, and no hook between the worker's start and its first fork but this one.
        super().__init__(*args, **kwargs)
        for client in (self.connection, *(queue.connection for queue in self.queues)):
            WaitForRedis.patiently(client)
        preload_engine(engine_config())

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        # rq's heartbeat keeps the worker's hash alive but never re-adds it to the set of workers
        # (rq:workers), which rq fills only in register_birth, at the worker's start.
        super().heartbeat(timeout, pipeline)
        if pipeline is None:  # between jobs; rq's heartbeats during a job go through a pipeline
            self._list_again_if_forgotten()

    def handle_warm_shutdown_request(self) -> None:
        # rq's hook for a warm shutdown (its HerokuWorker overrides it too): rq itself only logs
        # and lets the horse run its job to the end.
        super().handle_warm_shutdown_request()
        # A worker told to stop no longer waits for Redis: it exits even while Redis is away.
        WaitForRedis.stop_waiting()
        if self.horse_pid:
            log.info("passing SIGTERM on to work horse %s: it finishes or hands back its posts", self.horse_pid)
            self.kill_horse(sig=signal.SIGTERM)  # rq's method: the horse's process group; a horse gone is fine

    def _list_again_if_forgotten(self) -> None:
        """A Redis that restarted empty has forgotten this worker: register it again, as at its start."""
        if self.key in Worker.all_keys(connection=self.connection):
            return
        # What heartbeats wrote back into the new Redis is not a registration; rq's register_birth
        # refuses a name whose hash exists without a death date, so it goes first.
        self.connection.delete(self.key)
        self.register_birth()
        self.set_state(self.get_state())  # idle or busy, as before; register_birth writes no state
        log.warning("Redis had forgotten worker %s; it listed itself again", self.name)
