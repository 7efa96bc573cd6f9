"""generation.metrics: the shared counters that work horses write and /metrics reads."""

import asyncio

import pytest
import redis.asyncio as aioredis
from django.conf import settings

from generation.claims import PostTask
from generation.metrics import COUNTERS_KEY, LATENCY_KEY, MetricsRecorder
from generation.runner import RunStats
from generation.store import PostOutcome


def outcome(succeeded: bool, code: str = "") -> PostOutcome:
    task = PostTask(1, 1, 1, "x", 0, "batch", 1, "", [], "", "", "", "")
    return PostOutcome(task=task, succeeded=succeeded, error="whatever the provider said", failure_reason=code)


def test_a_push_is_added_to_redis_and_a_failed_push_is_kept_for_the_next(clean_redis):
    async def scenario() -> None:
        stats = RunStats(rate_limited=2, latencies=[("caption", 0.3, "ok"), ("image", 7.0, "ok")])
        broken = aioredis.from_url("redis://127.0.0.1:1/0")
        recorder = MetricsRecorder(broken, provider="openai")
        await recorder.record(stats, [outcome(True), outcome(False, "timeout"), outcome(False)])
        await recorder.push(stats)  # fails: nothing lost
        await broken.aclose()
        recorder.client = aioredis.from_url(settings.REDIS_URL)
        stats.latencies.append(("caption", 0.05, "rate_limited"))
        stats.rate_limited += 1
        await recorder.push(stats)
        await recorder.push(stats)  # nothing new: adds nothing
        await recorder.client.aclose()

    asyncio.run(scenario())
    counters = {k.decode(): int(v) for k, v in clean_redis.hgetall(COUNTERS_KEY).items()}
    assert counters == {
        "openai|generated": 1,
        "openai|failed|timeout": 1,
        "openai|failed|internal": 1,
        "openai|rate_limited": 3,
    }
    latency = {k.decode(): float(v) for k, v in clean_redis.hgetall(LATENCY_KEY).items()}
    assert latency["openai|caption|ok|0.5"] == 1
    assert latency["openai|image|ok|10"] == 1
    assert latency["openai|caption|rate_limited|0.1"] == 1
    assert latency["openai|caption|ok|count"] == 1
    assert latency["openai|image|ok|sum"] == pytest.approx(7.0)
