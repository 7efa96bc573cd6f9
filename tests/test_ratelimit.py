"""The shared limiter, against the real Redis."""

import asyncio
import dataclasses
import time

import pytest
import redis.asyncio as aioredis
from django.conf import settings

from generation import ratelimit
from generation.providers.base import RateLimitInfo
from generation.ratelimit import LocalRateLimiter, RedisRateLimiter
from tests.support import PrivateRedis


def run(coroutine_factory):
    async def main():
        client = aioredis.from_url(settings.REDIS_URL)
        try:
            return await coroutine_factory(client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def limiter(client, **kwargs) -> RedisRateLimiter:
    return RedisRateLimiter(client, "test-quota", **kwargs)


def test_burst_goes_at_once_then_one_per_interval():
    async def scenario(client):
        shared = limiter(client, rpm=600, burst=5)  # one request every 0.1 s after a burst of 5
        started = time.monotonic()
        times = []

        async def one():
            await shared.acquire()
            times.append(time.monotonic() - started)

        await asyncio.gather(*(one() for _ in range(10)))
        return sorted(times)

    times = run(scenario)
    # The burst goes without waiting for a slot (the bound is loose: a busy machine delays asyncio).
    assert times[4] < 0.3  # without a burst it would wait until 0.4 s
    # The other five follow at 0.1 s intervals: never earlier than their slot.
    for index, slot in enumerate((0.1, 0.2, 0.3, 0.4, 0.5), start=5):
        assert times[index] >= slot - 0.02
    assert times[-1] < 2.0


def test_two_limiters_share_one_quota():
    """Two workers (two limiter objects, two connections) together stay under the limit."""

    async def scenario(client):
        other = aioredis.from_url(settings.REDIS_URL)
        try:
            first, second = limiter(client, rpm=1200, burst=2), limiter(other, rpm=1200, burst=2)
            started = time.monotonic()
            await asyncio.gather(*(lim.acquire() for lim in [first, second] * 6))
            return time.monotonic() - started
        finally:
            await other.aclose()

    # 12 requests, burst 2, then 20 per second: at least 0.5 s in all.
    assert run(scenario) >= 0.45


def test_a_pause_holds_every_waiting_request():
    async def scenario(client):
        shared = limiter(client, rpm=6000, burst=100)
        await shared.pause(0.4)
        started = time.monotonic()
        await asyncio.gather(*(limiter(client, rpm=6000, burst=100).acquire() for _ in range(5)))
        return time.monotonic() - started

    assert run(scenario) >= 0.38


def test_after_a_pause_requests_resume_one_slot_at_a_time():
    async def scenario(client):
        shared = limiter(client, rpm=600, burst=50)
        await shared.pause(0.1)
        started = time.monotonic()
        await asyncio.gather(*(shared.acquire() for _ in range(4)))
        return time.monotonic() - started

    # Pause 0.1 s, then 4 requests at 0.1 s intervals (not a burst of 50).
    assert run(scenario) >= 0.38


def test_learns_the_limit_from_headers_and_pauses_when_nothing_remains():
    async def scenario(client):
        shared = limiter(client, rpm=0)
        assert shared.limits["requests"] is None
        await shared.observe(RateLimitInfo(limit_requests=120, remaining_requests=0, reset_requests_seconds=30))
        assert shared.limits["requests"].per_minute == 120
        started = time.monotonic()
        await shared.acquire()
        return time.monotonic() - started

    # Nothing remains: wait one slot of a 120/min quota (0.5 s), not the full 30 s reset.
    assert run(scenario) == pytest.approx(0.5, abs=0.15)


def test_local_limiter_keeps_the_same_pace():
    async def scenario():
        local = LocalRateLimiter(rpm=600, burst=3)
        started = time.monotonic()
        await asyncio.gather(*(local.acquire() for _ in range(6)))
        return time.monotonic() - started

    assert asyncio.run(scenario()) == pytest.approx(0.3, abs=0.06)


def test_requests_wait_for_a_restarted_redis_instead_of_failing(tmp_path):
    """A request that finds Redis away waits for it (counted by the limiter), then goes."""
    server = PrivateRedis(tmp_path / "redis")

    async def scenario():
        client = aioredis.from_url(server.url)
        shared = limiter(client, rpm=600, burst=5)
        try:
            await shared.acquire()
            server.kill()
            waiting = asyncio.create_task(shared.acquire())
            await asyncio.sleep(1.0)
            assert not waiting.done()
            server.start()  # empty, as Redis without persistence comes back
            await asyncio.wait_for(waiting, timeout=30)
            await shared.pause(0.1)
            return await shared.acquire()
        finally:
            await client.aclose()

    try:
        assert asyncio.run(scenario()) >= 0
    finally:
        server.stop()


def test_a_redis_that_stays_away_fails_the_request_with_a_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(
        ratelimit, "RATE_LIMITER_REDIS", dataclasses.replace(ratelimit.RATE_LIMITER_REDIS, give_up_after=0.5)
    )
    server = PrivateRedis(tmp_path / "redis")
    server.kill()

    async def scenario():
        client = aioredis.from_url(server.url)
        try:
            await limiter(client, rpm=600).acquire()
        finally:
            await client.aclose()

    with pytest.raises(ratelimit.RateLimiterUnavailableError, match="the shared rate limiter"):
        asyncio.run(scenario())
