"""Where the rate limiter keeps its buckets: in Redis, shared by every worker, or in this process.

Each limit (requests, images, tokens per minute) is a GCRA bucket ("generic cell rate
algorithm", the token bucket written as one timestamp, its "theoretical arrival time": when
the bucket will be full again). A request reserves its place and is told how long to sleep
until then, so waiting requests form an orderly line instead of retrying in a herd. A pause
(a 429) holds every request until it ends and leaves each bucket empty at that moment.

Both stores do the same arithmetic, each step atomic: RedisBuckets in Lua scripts, on Redis's
clock (one clock for every machine), LocalBuckets in Python for one process. The policy that
uses them is generation.ratelimit.RateLimiter; tests/test_ratelimit.py holds both to one suite.

While Redis is away (a restart, a failover) requests wait for it rather than fail or go
unmetered: the limiter is what keeps every worker under the provider's quota. Only after
backoff.RATE_LIMITER_REDIS.give_up_after seconds does a request give up, failing its post with
that reason.
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis
import redis.exceptions
from redis.commands.core import AsyncScript

from generation.backoff import RATE_LIMITER_REDIS, keep_trying
from generation.providers.base import FailureReason, TransientProviderError

log = logging.getLogger(__name__)

_REDIS_UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


@dataclass(frozen=True)
class Limit:
    """`per_minute` units a minute, of which `burst` may go at once."""

    name: str
    per_minute: int
    burst: int

    @property
    def interval(self) -> float:
        return 60.0 / self.per_minute


class RateLimiterUnavailableError(TransientProviderError):
    """Redis, and with it the shared limiter, stayed away longer than RATE_LIMITER_REDIS allows."""


class Clock(Protocol):
    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


class Buckets(Protocol):
    """Where a limiter keeps its buckets and its pause. Each call is atomic."""

    async def reserve(self, wanted: list[tuple[Limit, int]], *, max_wait: float | None) -> float:
        """Take the earliest place in line for a request costing `cost` of each limit; the seconds
        until it may go. A wait over `max_wait` is returned without reserving anything."""
        ...

    async def pause(self, seconds: float, limits: list[Limit]) -> None:
        """Hold every request for `seconds` (unless a longer pause holds them already); each bucket
        is empty when the pause ends."""
        ...

    async def pause_left(self) -> float: ...

    async def drain(self, levels: list[tuple[Limit, int]]) -> None:
        """Leave each limit's bucket holding at most `remaining` units (what the provider says it has left)."""
        ...


# The store scripts. ARGV[1] is the time to use (negative: Redis's own clock, the one every
# worker shares; tests pass a fake clock's).

_NOW = """
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

# KEYS: the pause key, then one bucket key per limit.
# ARGV[2]: the longest wait the caller accepts (negative: any); then, for each limit, interval
# (seconds per unit), burst (units), cost (units).
# Returns the seconds to wait before the request may go, for all limits at once. A wait longer
# than the caller accepts reserves nothing (the caller gives up instead of taking a place in line).
_RESERVE = (
    _NOW
    + """
local max_wait = tonumber(ARGV[2])
local start = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local go = start
local schedule = {}
for i = 2, #KEYS do
  local interval = tonumber(ARGV[(i - 2) * 3 + 3])
  local burst = tonumber(ARGV[(i - 2) * 3 + 4])
  local cost = tonumber(ARGV[(i - 2) * 3 + 5])
  local tat = math.max(tonumber(redis.call('GET', KEYS[i]) or '0'), start)
  local tolerance = (burst - cost) * interval
  local at = math.max(start, tat - tolerance)
  if at > go then go = at end
  schedule[i] = tat
end
if max_wait >= 0 and go - now > max_wait then
  return tostring(go - now)
end
for i = 2, #KEYS do
  local interval = tonumber(ARGV[(i - 2) * 3 + 3])
  local cost = tonumber(ARGV[(i - 2) * 3 + 5])
  local tat = math.max(schedule[i], go)
  local ttl = math.ceil((tat - now + 60) * 1000)
  redis.call('SET', KEYS[i], tostring(tat + interval * cost), 'PX', ttl)
end
return tostring(go - now)
"""
)

# KEYS: the pause key, then every bucket key. ARGV[2]: seconds to pause, then for each
# bucket its interval and burst. After the pause each bucket starts empty, not full: the
# provider's own bucket is empty too, which is why it answered 429.
_PAUSE = (
    _NOW
    + """
local until_ = math.max(now + tonumber(ARGV[2]), tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil((until_ - now) * 1000) + 1000)
for i = 2, #KEYS do
  local interval = tonumber(ARGV[(i - 2) * 2 + 3])
  local burst = tonumber(ARGV[(i - 2) * 2 + 4])
  local empty_at = until_ + (burst - 1) * interval
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if empty_at > tat then
    redis.call('SET', KEYS[i], tostring(empty_at), 'PX', math.ceil((empty_at - now + 60) * 1000))
  end
end
return tostring(until_ - now)
"""
)

# KEYS: one bucket key per limit. ARGV[2...]: for each, interval, burst and the units the provider
# says remain. A bucket holding more than that is emptied down to it; one holding less is left be.
_DRAIN = (
    _NOW
    + """
for i = 1, #KEYS do
  local interval = tonumber(ARGV[(i - 1) * 3 + 2])
  local burst = tonumber(ARGV[(i - 1) * 3 + 3])
  local remaining = tonumber(ARGV[(i - 1) * 3 + 4])
  local at_most = now + (burst - remaining) * interval
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if at_most > tat then
    redis.call('SET', KEYS[i], tostring(at_most), 'PX', math.ceil((at_most - now + 60) * 1000))
  end
end
return 'ok'
"""
)

# KEYS: the pause key. Returns the seconds the pause has left.
_PAUSE_LEFT = (
    _NOW
    + """
return tostring(math.max(tonumber(redis.call('GET', KEYS[1]) or '0') - now, 0))
"""
)


class RedisBuckets:
    """The buckets in Redis: one set per quota, shared by every worker that uses it."""

    def __init__(self, client: aioredis.Redis, quota: str, *, clock: Clock | None = None) -> None:
        self.prefix = f"generation:ratelimit:{quota}"
        self.clock = clock  # None: Redis's own clock
        self._reserve = client.register_script(_RESERVE)
        self._pause = client.register_script(_PAUSE)
        self._pause_left = client.register_script(_PAUSE_LEFT)
        self._drain = client.register_script(_DRAIN)
        self._outage_since: float | None = None

    def key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    @property
    def pause_key(self) -> str:
        return self.key("pause")

    def _now(self) -> float:
        return -1.0 if self.clock is None else self.clock.now()

    async def reserve(self, wanted: list[tuple[Limit, int]], *, max_wait: float | None) -> float:
        args: list[float] = [self._now(), -1.0 if max_wait is None else max_wait]
        for limit, cost in wanted:
            args += [limit.interval, limit.burst, cost]
        keys = [self.pause_key] + [self.key(limit.name) for limit, _ in wanted]
        return float(await self._run(self._reserve, keys=keys, args=args))

    async def pause(self, seconds: float, limits: list[Limit]) -> None:
        args: list[float] = [self._now(), seconds]
        for limit in limits:
            args += [limit.interval, limit.burst]
        await self._run(self._pause, keys=[self.pause_key] + [self.key(limit.name) for limit in limits], args=args)

    async def pause_left(self) -> float:
        return float(await self._run(self._pause_left, keys=[self.pause_key], args=[self._now()]))

    async def drain(self, levels: list[tuple[Limit, int]]) -> None:
        args: list[float] = [self._now()]
        for limit, remaining in levels:
            args += [limit.interval, limit.burst, min(max(remaining, 0), limit.burst)]
        await self._run(self._drain, keys=[self.key(limit.name) for limit, _ in levels], args=args)

    async def _run(self, script: AsyncScript, *, keys: list[str], args: list[float]) -> str:
        """Run one of the scripts, waiting for Redis while it is away (see the module docstring).

        The scripts are reloaded by redis-py when a restarted Redis no longer knows them.
        """
        loop = asyncio.get_running_loop()

        async def note_outage(exc: BaseException, delay: float) -> None:
            if self._outage_since is None:
                self._outage_since = loop.time()
                log.warning("the rate limiter cannot reach Redis (%s); requests wait for it", exc)

        try:
            result = await keep_trying(
                lambda: script(keys=keys, args=args),
                policy=RATE_LIMITER_REDIS,
                errors=_REDIS_UNAVAILABLE,
                on_error=note_outage,
            )
        except _REDIS_UNAVAILABLE:
            raise RateLimiterUnavailableError(
                f"the shared rate limiter (Redis) did not answer for {RATE_LIMITER_REDIS.give_up_after:.0f} seconds",
                code=FailureReason.CONNECTION,
            ) from None
        if self._outage_since is not None:
            log.info("the rate limiter reaches Redis again after %.1fs", loop.time() - self._outage_since)
            self._outage_since = None
        return result


class LocalBuckets:
    """The buckets in this process's memory: the scripts' arithmetic, step for step."""

    def __init__(self, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self.tat: dict[str, float] = {}  # per limit: when its bucket will be full again ("theoretical arrival time")
        self.pause_until = 0.0

    async def reserve(self, wanted: list[tuple[Limit, int]], *, max_wait: float | None) -> float:
        now = self.clock.now()
        start = max(now, self.pause_until)
        go = start
        schedule = {}
        for limit, cost in wanted:
            tat = max(self.tat.get(limit.name, 0.0), start)
            go = max(go, tat - (limit.burst - cost) * limit.interval)
            schedule[limit.name] = tat
        if max_wait is not None and go - now > max_wait:
            return go - now
        for limit, cost in wanted:
            self.tat[limit.name] = max(schedule[limit.name], go) + limit.interval * cost
        return go - now

    async def pause(self, seconds: float, limits: list[Limit]) -> None:
        self.pause_until = max(self.clock.now() + seconds, self.pause_until)
        for limit in limits:
            empty_at = self.pause_until + (limit.burst - 1) * limit.interval
            self.tat[limit.name] = max(self.tat.get(limit.name, 0.0), empty_at)

    async def pause_left(self) -> float:
        return max(self.pause_until - self.clock.now(), 0.0)

    async def drain(self, levels: list[tuple[Limit, int]]) -> None:
        now = self.clock.now()
        for limit, remaining in levels:
            at_most = now + (limit.burst - min(max(remaining, 0), limit.burst)) * limit.interval
            self.tat[limit.name] = max(self.tat.get(limit.name, 0.0), at_most)
