"""A Redis that accepts connections but never answers (a hung host) fails calls in seconds, not minutes.

redis-py (8.x) gives every client 5-second connect and socket timeouts unless told otherwise;
the app keeps those defaults, and these tests hold them for each of the app's clients.
"""

import asyncio
import socket
import threading

import pytest
import redis
from django.conf import settings
from django.core.cache.backends.redis import RedisCache
from django_rq import get_connection

from generation.config import engine_config, redis_client

# Long enough for the timeouts to have fired; well short of the kernel's own, minutes away.
HANG = 30


@pytest.fixture
def silent_redis():
    """A socket that listens (so connecting succeeds) and never reads or answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()


def outcome_of(call) -> BaseException | str:
    """What `call` raised or returned, or "hung" if it was still waiting after HANG seconds."""
    result: list = []

    def run() -> None:
        try:
            result.append(call())
        except BaseException as exc:
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG)
    return result[0] if result else "hung"


def test_sessions_and_the_cache_give_up_on_a_silent_redis(silent_redis):
    cache = RedisCache(silent_redis, {k: v for k, v in settings.CACHES["default"].items() if k != "LOCATION"})
    assert isinstance(outcome_of(lambda: cache.get("session")), redis.exceptions.TimeoutError)


def test_the_job_queue_gives_up_on_a_silent_redis(silent_redis, settings):
    settings.RQ_QUEUES = {name: {**queue, "URL": silent_redis} for name, queue in settings.RQ_QUEUES.items()}
    assert isinstance(outcome_of(get_connection("generation").ping), redis.exceptions.TimeoutError)


def test_the_engines_client_gives_up_on_a_silent_redis(silent_redis, settings):
    settings.REDIS_URL = silent_redis

    async def ping() -> None:
        client = redis_client(engine_config())
        try:
            await client.ping()
        finally:
            await client.aclose()

    assert isinstance(outcome_of(lambda: asyncio.run(ping())), redis.exceptions.TimeoutError)
