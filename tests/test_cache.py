"""The default cache (Django's RedisCache as it ships): one store for every process and thread.

Sessions are read from it and the caption preview's rate limit (django-ratelimit) counts in it,
so a count made by one gunicorn process must be seen by the others, and no increment may be lost
when threads of several processes count at once. A per-process cache (LocMemCache) would fail this.
"""

import multiprocessing
import threading

import pytest
from django.core.cache import cache

pytestmark = pytest.mark.usefixtures("clean_redis")

THREADS = 4
HITS = 50


def _count_in_threads() -> None:
    def hit() -> None:
        for _ in range(HITS):
            cache.incr("hits")

    threads = [threading.Thread(target=hit) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_processes_and_threads_count_in_one_store_and_lose_no_increment():
    cache.set("hits", 0, 60)
    # As gunicorn forks its processes after the master has loaded the app.
    child = multiprocessing.get_context("fork").Process(target=_count_in_threads)
    child.start()
    _count_in_threads()
    child.join(60)
    assert child.exitcode == 0
    assert cache.get("hits") == 2 * THREADS * HITS
