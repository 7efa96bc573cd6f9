"""The shared Redis cache (config/cache.py): one Redis client per pool, shared by threads, fine after a fork."""

import multiprocessing
import threading

import pytest
from django.core.cache import cache, caches

from config.cache import RedisCache

pytestmark = pytest.mark.usefixtures("clean_redis")


def test_the_default_cache_keeps_one_client_per_pool():
    assert isinstance(caches["default"], RedisCache)
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client
    assert cache._cache.get_client("any key") is client
    cache.set("greeting", {"text": "hello"}, 60)
    assert cache.get("greeting") == {"text": "hello"}
    assert cache._cache.get_client() is client


def test_threads_share_the_client():
    cache.set("hits", 0, 60)

    def hit() -> None:
        for _ in range(50):
            cache.incr("hits")

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get("hits") == 400


def _write_from_child(value: str) -> None:
    cache.set("from-child", value, 60)


def test_a_forked_process_uses_the_shared_client_on_connections_of_its_own():
    # As gunicorn forks its workers after the master has loaded the app (and maybe used the cache).
    cache.set("from-parent", "before fork", 60)
    pool = cache._cache.get_client().connection_pool
    assert len(pool._available_connections) + len(pool._in_use_connections) >= 1
    child = multiprocessing.get_context("fork").Process(target=_write_from_child, args=("hello",))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert cache.get("from-child") == "hello"
    assert cache.get("from-parent") == "before fork"
