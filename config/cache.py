"""Django's Redis cache backend, keeping one Redis client per connection pool.

Django's RedisCacheClient makes a new redis.Redis object for every cache call; the connection
pool is shared, but since redis-py 5 the object's constructor builds a table of some 170 response
callbacks, about 50 µs here. The session is read from this cache on every signed-in request, so
that was a fifth of the session's cost on the progress poll (BENCHMARKS.md). A redis.Redis
object over a pool is safe to share between threads; after a fork its pool opens new connections.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
