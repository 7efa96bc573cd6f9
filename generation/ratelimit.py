"""A rate limiter shared by every worker through Redis, so that all of them together stay
under the provider's limits.

Each limit (requests, images, tokens per minute) is a GCRA bucket ("generic cell rate
algorithm", the token bucket written as one timestamp): a request reserves its place and
sleeps until then, so waiting workers form an orderly line instead of retrying in a herd.
The bucket starts full, as the provider's does, and holds `burst` requests (a minute's worth
unless GENERATION_BURST says otherwise).

A 429 pauses the whole line: `pause()` sets a pause that every worker reads before it
sends, and empties the buckets as of the pause's end, so requests resume one slot at a
time rather than in a burst.
Without a configured GENERATION_RPM, the limiter adopts the limit the provider announces in
its x-ratelimit-limit-* headers, and pauses when the provider says nothing remains.

While Redis is away (a restart, a failover) requests wait for it rather than fail or go
unmetered: the limiter is what keeps every worker under the provider's quota. Only after
backoff.RATE_LIMITER_REDIS.give_up_after seconds does a request give up, failing its post with that reason.
"""

import asyncio
import hashlib
import logging
import random
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
import redis.exceptions

from generation.backoff import RATE_LIMITER_REDIS, keep_trying
from generation.config import EngineConfig
from generation.providers.base import RateLimitInfo, TransientProviderError

log = logging.getLogger(__name__)

_REDIS_UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

# KEYS: the pause key, then one bucket key per limit.
# ARGV[1]: the longest wait the caller accepts (negative: any); then, for each limit, interval
# (seconds per unit), burst (units), cost (units).
# Returns the seconds to wait before the request may go, for all limits at once. A wait longer
# than the caller accepts reserves nothing (the caller gives up instead of taking a place in line).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local max_wait = tonumber(ARGV[1])
local start = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local go = start
local schedule = {}
for i = 2, #KEYS do
  local interval = tonumber(ARGV[(i - 2) * 3 + 2])
  local burst = tonumber(ARGV[(i - 2) * 3 + 3])
  local cost = tonumber(ARGV[(i - 2) * 3 + 4])
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
  local interval = tonumber(ARGV[(i - 2) * 3 + 2])
  local cost = tonumber(ARGV[(i - 2) * 3 + 4])
  local tat = math.max(schedule[i], go)
  local ttl = math.ceil((tat - now + 60) * 1000)
  redis.call('SET', KEYS[i], tostring(tat + interval * cost), 'PX', ttl)
end
return tostring(go - now)
"""

# KEYS: the pause key, then every bucket key. ARGV[1]: seconds to pause, then for each
# bucket its interval and burst. After the pause each bucket starts empty, not full: the
# provider's own bucket is empty too, which is why it answered 429.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local until_ = math.max(now + tonumber(ARGV[1]), tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil((until_ - now) * 1000) + 1000)
for i = 2, #KEYS do
  local interval = tonumber(ARGV[(i - 2) * 2 + 2])
  local burst = tonumber(ARGV[(i - 2) * 2 + 3])
  local empty_at = until_ + (burst - 1) * interval
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if empty_at > tat then
    redis.call('SET', KEYS[i], tostring(empty_at), 'PX', math.ceil((empty_at - now + 60) * 1000))
  end
end
return tostring(until_ - now)
"""

# KEYS: the pause key. Returns the seconds the pause has left, by Redis's clock.
_PAUSE_LEFT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
return tostring(math.max(tonumber(redis.call('GET', KEYS[1]) or '0') - now, 0))
"""


@dataclass(frozen=True)
class Limit:
    """`per_minute` units a minute, of which `burst` may go at once."""

    name: str
    per_minute: int
    burst: int

    @property
    def interval(self) -> float:
        return 60.0 / self.per_minute


def make_limit(name: str, per_minute: int, burst: int = 0) -> Limit | None:
    if per_minute <= 0:
        return None
    return Limit(name, per_minute, max(burst or per_minute, 1))


def _wanted(limits: dict[str, Limit | None], image: bool, tokens: int) -> list[tuple[Limit, int]]:
    """The (limit, cost) pairs one request draws on."""
    wanted = [(limits["requests"], 1)]
    if image:
        wanted.append((limits["images"], 1))
    if tokens and limits["tokens"]:
        wanted.append((limits["tokens"], min(tokens, limits["tokens"].burst)))
    return [(limit, cost) for limit, cost in wanted if limit is not None]


class RateLimiterUnavailableError(TransientProviderError):
    """Redis, and with it the shared limiter, stayed away longer than RATE_LIMITER_REDIS allows."""


class RateLimiterBusyError(TransientProviderError):
    """The request would have had to wait longer than its caller accepts (acquire's max_wait)."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"the provider's rate limit has no room for {wait:.1f}s")
        self.wait = wait


def quota_id(base_url: str | None, api_key: str) -> str:
    """Providers count quota per key and server: hash them (never store the key itself)."""
    return hashlib.sha256(f"{base_url or 'openai'}|{api_key}".encode()).hexdigest()[:16]


class RedisRateLimiter:
    def __init__(
        self,
        client: aioredis.Redis,
        quota: str,
        *,
        rpm: int,
        burst: int = 0,
        images_per_minute: int = 0,
        tpm: int = 0,
    ) -> None:
        self.client = client
        self.prefix = f"generation:ratelimit:{quota}"
        self.configured_rpm = rpm
        self.configured_tpm = tpm
        self.burst = burst
        self.limits = {
            "requests": make_limit("requests", rpm, burst),
            "images": make_limit("images", images_per_minute),
            "tokens": make_limit("tokens", tpm, burst * 1000 if burst else 0),
        }
        self._reserve = client.register_script(_RESERVE)
        self._pause = client.register_script(_PAUSE)
        self._pause_left = client.register_script(_PAUSE_LEFT)
        self._outage_since: float | None = None

    @classmethod
    def for_config(cls, config: EngineConfig, client: aioredis.Redis) -> "RedisRateLimiter":
        """The limiter every worker shares for the configured provider, key and limits."""
        return cls(
            client,
            quota_id(config.base_url, config.api_key),
            rpm=config.rpm,
            burst=config.burst,
            images_per_minute=config.images_per_minute,
            tpm=config.tpm,
        )

    async def _run(self, script, *, keys: list[str], args: list[float]) -> str:
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
                f"the shared rate limiter (Redis) did not answer for {RATE_LIMITER_REDIS.give_up_after:.0f} seconds"
            ) from None
        if self._outage_since is not None:
            log.info("the rate limiter reaches Redis again after %.1fs", loop.time() - self._outage_since)
            self._outage_since = None
        return result

    @property
    def pause_key(self) -> str:
        return f"{self.prefix}:pause"

    def _key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    async def acquire(self, *, image: bool = False, tokens: int = 0, max_wait: float | None = None) -> float:
        """Wait until one request (an image request, or one of about `tokens` tokens) may go.

        Returns the seconds waited. With no limit known, it still honours a pause from a 429.
        With `max_wait`, a request that would wait longer takes no place in line and raises
        RateLimiterBusyError instead (the caption preview: a person waits, not a batch).
        """
        waited = 0.0
        while True:
            wanted = _wanted(self.limits, image, tokens)
            args: list[float] = [-1.0 if max_wait is None else max(max_wait - waited, 0.0)]
            for limit, cost in wanted:
                args += [limit.interval, limit.burst, cost]
            keys = [self.pause_key] + [self._key(limit.name) for limit, _ in wanted]
            wait = float(await self._run(self._reserve, keys=keys, args=args))
            if max_wait is not None and waited + wait > max_wait:
                raise RateLimiterBusyError(waited + wait)
            if wait > 0:
                await asyncio.sleep(wait)
                waited += wait
            # A 429 elsewhere may have paused everyone while this request slept: then it
            # takes a new place in the line behind the pause instead of rushing in.
            remaining = float(await self._run(self._pause_left, keys=[self.pause_key], args=[]))
            if remaining <= 0:
                return waited
            if max_wait is not None and waited + remaining > max_wait:
                raise RateLimiterBusyError(waited + remaining)
            delay = remaining + random.uniform(0, 0.05)
            await asyncio.sleep(delay)
            waited += delay

    async def pause(self, seconds: float) -> None:
        """Stop every worker's requests for `seconds` (a 429's retry-after)."""
        limits = [limit for limit in self.limits.values() if limit is not None]
        keys = [self.pause_key] + [self._key(limit.name) for limit in limits]
        args: list[float] = [max(seconds, 0.05)]
        for limit in limits:
            args += [limit.interval, limit.burst]
        await self._run(self._pause, keys=keys, args=args)

    async def observe(self, info: RateLimitInfo) -> None:
        """Learn from the provider's x-ratelimit-* headers."""
        if not self.configured_rpm and info.limit_requests and info.limit_requests > 0:
            current = self.limits["requests"]
            if current is None or current.per_minute != info.limit_requests:
                self.limits["requests"] = make_limit("requests", info.limit_requests, self.burst)
        if not self.configured_tpm and info.limit_tokens and info.limit_tokens > 0:
            current = self.limits["tokens"]
            if current is None or current.per_minute != info.limit_tokens:
                self.limits["tokens"] = make_limit("tokens", info.limit_tokens)
        if info.remaining_requests == 0:
            await self.pause(_time_to_next(info.limit_requests, info.reset_requests_seconds))
        elif info.remaining_tokens == 0:
            await self.pause(_time_to_next(info.limit_tokens, info.reset_tokens_seconds))


def _time_to_next(limit: int | None, reset_seconds: float | None) -> float:
    """Time until the provider has room for one more: its full reset, or one slot's worth."""
    if limit and reset_seconds:
        return min(reset_seconds, 60.0 / limit)
    return reset_seconds or 1.0


class LocalRateLimiter:
    """The same contract in one process, for --sync runs without Redis."""

    def __init__(self, *, rpm: int, burst: int = 0, images_per_minute: int = 0, tpm: int = 0) -> None:
        self.limits = {
            "requests": make_limit("requests", rpm, burst),
            "images": make_limit("images", images_per_minute),
            "tokens": make_limit("tokens", tpm),
        }
        self.tat: dict[str, float] = {}
        self.pause_until = 0.0

    @classmethod
    def for_config(cls, config: EngineConfig) -> "LocalRateLimiter":
        return cls(rpm=config.rpm, burst=config.burst, images_per_minute=config.images_per_minute, tpm=config.tpm)

    async def acquire(self, *, image: bool = False, tokens: int = 0, max_wait: float | None = None) -> float:
        wanted = _wanted(self.limits, image, tokens)
        now = time.monotonic()
        start = max(now, self.pause_until)
        go = start
        for limit, cost in wanted:
            tat = max(self.tat.get(limit.name, 0.0), start)
            go = max(go, tat - (limit.burst - cost) * limit.interval)
        if max_wait is not None and go - now > max_wait:
            raise RateLimiterBusyError(go - now)
        for limit, cost in wanted:
            self.tat[limit.name] = max(self.tat.get(limit.name, 0.0), go) + limit.interval * cost
        wait = go - now
        if wait > 0:
            await asyncio.sleep(wait)
        return max(wait, 0.0)

    async def pause(self, seconds: float) -> None:
        self.pause_until = max(self.pause_until, time.monotonic() + seconds)
        for limit in self.limits.values():
            if limit is not None:
                empty_at = self.pause_until + (limit.burst - 1) * limit.interval
                self.tat[limit.name] = max(self.tat.get(limit.name, 0.0), empty_at)

    async def observe(self, info: RateLimitInfo) -> None:
        if info.remaining_requests == 0:
            await self.pause(_time_to_next(info.limit_requests, info.reset_requests_seconds))
