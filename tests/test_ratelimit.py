"""The rate limiter: one policy, held against both places it keeps its buckets.

Every test of the policy runs twice, against the Redis store (what workers share) and the
in-process one (--sync runs), with the same expected numbers: the two must agree. Both run
on a fake clock that moves only when the limiter sleeps, so a test knows exactly when each
request goes, however busy the machine is. The last tests are about Redis itself going away.
"""

import asyncio
import dataclasses
import time

import pytest
import redis.asyncio as aioredis
from django.conf import settings

from generation import buckets, ratelimit
from generation.buckets import LocalBuckets
from generation.providers.base import RateLimitInfo
from generation.ratelimit import RateLimiter, RateLimiterBusyError, RedisRateLimiter
from tests.support import PrivateRedis

QUOTA = "test-quota"


class FakeClock:
    """Time that stands still until the limiter sleeps. `during_next_sleep` runs a coroutine
    while a request sleeps (what another worker does meanwhile)."""

    def __init__(self) -> None:
        self.time = 1000.0
        self._meanwhile = None

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        meanwhile, self._meanwhile = self._meanwhile, None
        if meanwhile is not None:
            await meanwhile
        self.time += seconds

    def during_next_sleep(self, coroutine) -> None:
        self._meanwhile = coroutine


@pytest.fixture(params=["redis", "local"])
def store(request) -> str:
    return request.param


def run(store: str, scenario):
    """asyncio.run(scenario(limiter, clock)), where limiter(**limits) builds a limiter on `store`.

    Limiters built in one scenario share one quota: on Redis each has a connection of its own,
    as each worker does; in process they share one set of buckets.
    """

    async def main():
        clock = FakeClock()
        clients: list[aioredis.Redis] = []
        local = LocalBuckets(clock=clock)

        def limiter(**limits) -> RateLimiter:
            if store == "redis":
                clients.append(aioredis.from_url(settings.REDIS_URL))
                return RedisRateLimiter(clients[-1], QUOTA, clock=clock, **limits)
            return RateLimiter(local, clock=clock, **limits)

        try:
            return await scenario(limiter, clock)
        finally:
            for client in clients:
                await client.aclose()

    return asyncio.run(main())


async def go_times(clock: FakeClock, limiter: RateLimiter, requests: int, **kwargs) -> list[float]:
    """Acquire `requests` times; when each request was let go, in seconds from the first try."""
    started = clock.time
    times = []
    for _ in range(requests):
        await limiter.acquire(**kwargs)
        times.append(round(clock.time - started, 6))
    return times


@pytest.mark.parametrize(
    ("burst", "expected"),
    [
        (5, [0, 0, 0, 0, 0, 0.1, 0.2, 0.3, 0.4, 0.5]),
        (1, [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]),
        (0, [0] * 10),  # unset: a minute's worth (600)
    ],
)
def test_a_burst_goes_at_once_then_one_request_per_interval(store, burst, expected):
    async def scenario(limiter, clock):
        return await go_times(clock, limiter(rpm=600, burst=burst), 10)

    assert run(store, scenario) == pytest.approx(expected, abs=1e-6)


def test_limiters_of_one_quota_share_it(store):
    """Two workers (two limiters) together keep one pace: burst 2, then 20 a second."""

    async def scenario(limiter, clock):
        first, second = limiter(rpm=1200, burst=2), limiter(rpm=1200, burst=2)
        started, times = clock.time, []
        for shared in [first, second] * 6:
            await shared.acquire()
            times.append(clock.time - started)
        return times

    assert run(store, scenario) == pytest.approx([0, 0] + [0.05 * n for n in range(1, 11)], abs=1e-6)


def test_a_pause_holds_every_request_then_they_resume_one_slot_at_a_time(store):
    """A 429 pauses everyone; afterwards the buckets are empty, not full (as the provider's is)."""

    async def scenario(limiter, clock):
        first, other = limiter(rpm=600, burst=50), limiter(rpm=600, burst=50)
        await first.pause(0.4)
        return await go_times(clock, other, 4)

    times = run(store, scenario)
    assert times[0] >= 0.4
    assert times == pytest.approx([0.4, 0.5, 0.6, 0.7], abs=1e-6)


def test_a_request_waiting_for_its_slot_also_waits_out_a_pause_that_began_meanwhile(store):
    async def scenario(limiter, clock):
        mine, elsewhere = limiter(rpm=60, burst=1), limiter(rpm=60, burst=1)
        started = clock.time
        await mine.acquire()
        clock.during_next_sleep(elsewhere.pause(5.0))  # a 429 while the next request waits its 1 s slot
        await mine.acquire()
        return clock.time - started

    went_at = run(store, scenario)
    assert 5.0 <= went_at <= 5.0 + ratelimit.PAUSE_JITTER


def test_learns_the_request_limit_from_headers_and_pauses_one_slot_when_nothing_remains(store):
    async def scenario(limiter, clock):
        learner = limiter(rpm=0)
        assert learner.limits["requests"] is None
        await learner.observe(RateLimitInfo(limit_requests=120, remaining_requests=0, reset_requests_seconds=30))
        assert learner.limits["requests"].per_minute == 120
        return await go_times(clock, learner, 3)

    # One slot of a 120/min quota (0.5 s), not the full 30 s reset; then one slot at a time.
    assert run(store, scenario) == pytest.approx([0.5, 1.0, 1.5], abs=1e-6)


def test_a_bucket_never_holds_more_than_the_provider_says_remains(store):
    """Requests sent before the limit was known (or by another client of the key) count, as the provider counts them."""

    async def scenario(limiter, clock):
        learner = limiter(rpm=0)
        await learner.observe(RateLimitInfo(limit_requests=60, remaining_requests=2))
        # A later answer that says more remains (sent before the others arrived) gives nothing back.
        await learner.observe(RateLimitInfo(limit_requests=60, remaining_requests=50))
        return await go_times(clock, learner, 4)

    # Two remain: they go at once, then one request a second.
    assert run(store, scenario) == pytest.approx([0, 0, 1.0, 2.0], abs=1e-6)


def test_learns_the_token_limit_from_headers_and_waits_for_the_tokens_a_request_needs(store):
    async def scenario(limiter, clock):
        learner = limiter(rpm=6000)
        await learner.observe(RateLimitInfo(limit_tokens=60_000, remaining_tokens=0, reset_tokens_seconds=10))
        assert learner.limits["tokens"].per_minute == 60_000
        return await go_times(clock, learner, 1, tokens=900)

    # Nothing remained: a pause (its shortest, 0.05 s) leaves room for one token; the other 899
    # come back at 1,000 a second.
    assert run(store, scenario) == pytest.approx([0.05 + 0.9 - 0.001], abs=1e-6)


def test_configured_limits_are_not_replaced_by_headers(store):
    async def scenario(limiter, clock):
        configured = limiter(rpm=600, tpm=90_000)
        await configured.observe(RateLimitInfo(limit_requests=120, limit_tokens=1_000, remaining_requests=5))
        return configured.limits["requests"].per_minute, configured.limits["tokens"].per_minute

    assert run(store, scenario) == (600, 90_000)


@pytest.mark.parametrize("burst", [0, 5])
def test_images_and_tokens_have_buckets_of_a_minutes_worth(store, burst):
    """GENERATION_BURST shapes requests only: 1,800 tokens a minute is two 900-token captions at
    once, then one every 30 s, whatever the burst of requests."""

    async def scenario(limiter, clock):
        captions = await go_times(clock, limiter(rpm=6000, burst=burst, tpm=1800), 3, tokens=900)
        images = await go_times(clock, limiter(rpm=6000, burst=burst, images_per_minute=2), 3, image=True)
        return captions, images

    captions, images = run(store, scenario)
    assert captions == pytest.approx([0, 0, 30.0], abs=1e-6)
    assert images == pytest.approx([0, 0, 30.0], abs=1e-6)


def test_a_request_over_max_wait_reserves_nothing(store):
    """The caption preview never waits in line: over max_wait it is refused at once, and the
    requests after it get the places they would have had."""

    async def scenario(limiter, clock):
        batch = limiter(rpm=60, burst=2)
        await batch.acquire()
        await batch.acquire()  # the bucket is empty: the next place is 1 s away
        started = clock.time
        with pytest.raises(RateLimiterBusyError) as refused:
            await batch.acquire(max_wait=0.5)
        assert refused.value.wait == pytest.approx(1.0)
        assert clock.time == started  # it did not wait
        waited = await batch.acquire(max_wait=1.0)  # a wait of exactly max_wait is accepted
        await batch.pause(3.0)
        with pytest.raises(RateLimiterBusyError):
            await batch.acquire(max_wait=1.0)
        return waited, clock.time - started

    waited, went_at = run(store, scenario)
    assert (waited, went_at) == (pytest.approx(1.0), pytest.approx(1.0))


def test_the_redis_store_keeps_the_pace_on_redis_s_own_clock():
    """Production runs on Redis's clock (one for every machine): ten requests together, burst 5,
    10 a second: the last goes no earlier than its slot, half a second after the first."""

    async def main():
        client = aioredis.from_url(settings.REDIS_URL)
        try:
            shared = RedisRateLimiter(client, QUOTA, rpm=600, burst=5)
            started = time.monotonic()
            waits = await asyncio.gather(*(shared.acquire() for _ in range(10)))
            return sorted(waits), time.monotonic() - started
        finally:
            await client.aclose()

    waits, elapsed = asyncio.run(main())
    assert waits[:5] == [0, 0, 0, 0, 0]
    assert elapsed >= 0.5 - 0.02


def test_requests_wait_for_a_restarted_redis_instead_of_failing(tmp_path):
    """A request that finds Redis away waits for it, then goes; the restarted (empty) Redis
    gets the scripts again and a pause set there holds."""
    server = PrivateRedis(tmp_path / "redis")
    clock = FakeClock()

    async def scenario():
        client = aioredis.from_url(server.url)
        shared = RedisRateLimiter(client, QUOTA, rpm=600, burst=5, clock=clock)
        try:
            await shared.acquire()
            server.kill()
            waiting = asyncio.create_task(shared.acquire())
            await asyncio.sleep(1.0)
            assert not waiting.done()
            server.start()  # empty, as Redis without persistence comes back
            await asyncio.wait_for(waiting, timeout=30)
            await shared.pause(0.25)
            return await shared.acquire()
        finally:
            await client.aclose()

    try:
        assert asyncio.run(scenario()) == pytest.approx(0.25, abs=1e-6)
    finally:
        server.stop()


def test_a_redis_that_stays_away_fails_the_request_with_a_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(
        buckets, "RATE_LIMITER_REDIS", dataclasses.replace(buckets.RATE_LIMITER_REDIS, give_up_after=0.5)
    )
    server = PrivateRedis(tmp_path / "redis")
    server.kill()

    async def scenario():
        client = aioredis.from_url(server.url)
        try:
            await RedisRateLimiter(client, QUOTA, rpm=600).acquire()
        finally:
            await client.aclose()

    with pytest.raises(buckets.RateLimiterUnavailableError, match="the shared rate limiter"):
        asyncio.run(scenario())
