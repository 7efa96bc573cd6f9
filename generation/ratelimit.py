"""The provider's rate limits, kept by every worker together: the policy.

A request waits for its place in line in every bucket it draws on (requests; images for an
image request; tokens for a caption), then goes. A bucket starts full, as the provider's does.
The requests bucket holds `burst` requests (a minute's worth unless GENERATION_BURST says
otherwise); the images and tokens buckets hold a minute's worth, as the provider's do.

A 429 pauses the whole line: `pause()` holds every request until it ends and empties the
buckets as of then, so requests resume one slot at a time rather than in a burst. A request
that slept while a pause began waits the pause out and takes a new place behind it. Without a
configured GENERATION_RPM (or GENERATION_TPM), the limiter adopts the limit the provider
announces in its x-ratelimit-limit-* headers, and pauses when the provider says nothing remains.

RateLimiter is that policy; it keeps its buckets in one of the two stores of
generation.buckets: Redis (RedisRateLimiter, what workers and the caption preview share) or
this process (LocalRateLimiter, for --sync runs without Redis).
"""

import hashlib
import random

import redis.asyncio as aioredis

from generation.buckets import SYSTEM_CLOCK, Buckets, Clock, Limit, LocalBuckets, RedisBuckets
from generation.config import EngineConfig
from generation.providers.base import FailureReason, RateLimitInfo, TransientProviderError

# After a pause, waiters come back spread over this many seconds rather than all at once.
PAUSE_JITTER = 0.05


def make_limit(name: str, per_minute: int, burst: int = 0) -> Limit | None:
    if per_minute <= 0:
        return None
    return Limit(name, per_minute, max(burst or per_minute, 1))


class RateLimiterBusyError(TransientProviderError):
    """The request would have had to wait longer than its caller accepts (acquire's max_wait)."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"the provider's rate limit has no room for {wait:.1f}s", code=FailureReason.RATE_LIMITED)
        self.wait = wait


class RateLimiter:
    """The policy: which buckets a request draws on, learning limits from headers, pausing on 429."""

    def __init__(
        self,
        buckets: Buckets,
        *,
        rpm: int,
        burst: int = 0,
        images_per_minute: int = 0,
        tpm: int = 0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.buckets = buckets
        self.clock = clock
        self.configured_rpm = rpm
        self.configured_tpm = tpm
        self.burst = burst
        self.limits = {
            "requests": make_limit("requests", rpm, burst),
            "images": make_limit("images", images_per_minute),
            "tokens": make_limit("tokens", tpm),
        }

    def _wanted(self, image: bool, tokens: int) -> list[tuple[Limit, int]]:
        """The (limit, cost) pairs one request draws on."""
        limits = self.limits
        wanted = [(limits["requests"], 1)]
        if image:
            wanted.append((limits["images"], 1))
        if tokens and limits["tokens"]:
            wanted.append((limits["tokens"], min(tokens, limits["tokens"].burst)))
        return [(limit, cost) for limit, cost in wanted if limit is not None]

    async def acquire(self, *, image: bool = False, tokens: int = 0, max_wait: float | None = None) -> float:
        """Wait until one request (an image request, or one of about `tokens` tokens) may go.

        Returns the seconds waited. With no limit known, it still honours a pause from a 429.
        With `max_wait`, a request that would wait longer takes no place in line and raises
        RateLimiterBusyError instead (the caption preview: a person waits, not a batch).
        """
        waited = 0.0
        while True:
            allowance = None if max_wait is None else max(max_wait - waited, 0.0)
            wait = await self.buckets.reserve(self._wanted(image, tokens), max_wait=allowance)
            if max_wait is not None and waited + wait > max_wait:
                raise RateLimiterBusyError(waited + wait)
            if wait > 0:
                await self.clock.sleep(wait)
                waited += wait
            # A 429 elsewhere may have paused everyone while this request slept: then it takes a
            # new place in the line behind the pause instead of rushing in.
            remaining = await self.buckets.pause_left()
            if remaining <= 0:
                return waited
            if max_wait is not None and waited + remaining > max_wait:
                raise RateLimiterBusyError(waited + remaining)
            delay = remaining + random.uniform(0, PAUSE_JITTER)
            await self.clock.sleep(delay)
            waited += delay

    async def pause(self, seconds: float) -> None:
        """Stop every request for `seconds` (a 429's retry-after)."""
        limits = [limit for limit in self.limits.values() if limit is not None]
        await self.buckets.pause(max(seconds, 0.05), limits)

    async def observe(self, info: RateLimitInfo) -> None:
        """Learn from the provider's x-ratelimit-* headers: its limits, and how much of them is left.

        A bucket never holds more than the provider says remains: requests sent before a limit
        was known (the first answers teach it), or by another client of the same key, are
        counted that way, instead of being found out by 429s.
        """
        if not self.configured_rpm and info.limit_requests and info.limit_requests > 0:
            self.limits["requests"] = make_limit("requests", info.limit_requests, self.burst)
        if not self.configured_tpm and info.limit_tokens and info.limit_tokens > 0:
            self.limits["tokens"] = make_limit("tokens", info.limit_tokens)
        levels = [
            (limit, remaining)
            for limit, remaining in (
                (self.limits["requests"], info.remaining_requests),
                (self.limits["tokens"], info.remaining_tokens),
            )
            if limit is not None and remaining is not None
        ]
        if levels:
            await self.buckets.drain(levels)
        if info.remaining_requests == 0:
            await self.pause(_time_to_next(info.limit_requests, info.reset_requests_seconds))
        elif info.remaining_tokens == 0:
            await self.pause(_time_to_next(info.limit_tokens, info.reset_tokens_seconds))


def _time_to_next(limit: int | None, reset_seconds: float | None) -> float:
    """Time until the provider has room for one more: its full reset, or one slot's worth."""
    if limit and reset_seconds:
        return min(reset_seconds, 60.0 / limit)
    return reset_seconds or 1.0


def quota_id(base_url: str | None, api_key: str) -> str:
    """Providers count quota per key and server: hash them (never store the key itself)."""
    return hashlib.sha256(f"{base_url or 'openai'}|{api_key}".encode()).hexdigest()[:16]


class RedisRateLimiter(RateLimiter):
    """The limiter shared by every worker through Redis (chunk jobs, the caption preview)."""

    def __init__(
        self,
        client: aioredis.Redis,
        quota: str,
        *,
        rpm: int,
        burst: int = 0,
        images_per_minute: int = 0,
        tpm: int = 0,
        clock: Clock | None = None,
    ) -> None:
        self.redis_buckets = RedisBuckets(client, quota, clock=clock)
        super().__init__(
            self.redis_buckets,
            rpm=rpm,
            burst=burst,
            images_per_minute=images_per_minute,
            tpm=tpm,
            clock=clock or SYSTEM_CLOCK,
        )

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

    def _key(self, name: str) -> str:
        """A bucket's Redis key (tests/test_preview.py reads its TTL)."""
        return self.redis_buckets.key(name)


class LocalRateLimiter(RateLimiter):
    """The same limiter in one process, for --sync runs without Redis."""

    def __init__(
        self, *, rpm: int, burst: int = 0, images_per_minute: int = 0, tpm: int = 0, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        super().__init__(
            LocalBuckets(clock=clock), rpm=rpm, burst=burst, images_per_minute=images_per_minute, tpm=tpm, clock=clock
        )

    @classmethod
    def for_config(cls, config: EngineConfig) -> "LocalRateLimiter":
        return cls(rpm=config.rpm, burst=config.burst, images_per_minute=config.images_per_minute, tpm=config.tpm)
