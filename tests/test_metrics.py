"""generation.metrics: the shared counters that work horses write and /metrics reads."""

import asyncio

import pytest
import redis.asyncio as aioredis
from django.conf import settings

from generation.metrics import COUNTERS_KEY, LATENCY_KEY, MetricsRecorder, failure_reason
from generation.runner import RunStats
from generation.store import PostOutcome, PostTask


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        ("gave up after the post's deadline: request timed out", "deadline"),
        ("request timed out (after 5 tries)", "timeout"),
        ("refused by the provider's content policy: Your request was rejected", "content_policy"),
        ("the model refused: no", "content_policy"),
        ("the provider refused the credentials (HTTP 401); check OPENAI_API_KEY", "auth"),
        ("the provider's quota is used up: billing", "quota"),
        ("provider error (HTTP 503) (after 5 tries)", "server_error"),
        ("malformed response: no caption in the answer (after 5 tries)", "malformed"),
        ("could not connect to the provider (after 5 tries)", "connection"),
        ("provider rejected the request (HTTP 400): bad size", "rejected"),
        ("internal error (KeyError)", "internal"),
        ("something new", "other"),
    ],
)
def test_failure_reasons_fall_into_a_few_labels(error, reason):
    assert failure_reason(error) == reason


def outcome(succeeded: bool, error: str = "") -> PostOutcome:
    task = PostTask(1, 1, 1, "x", 0, "batch", 1, "", [], "", "", "", "")
    return PostOutcome(task=task, succeeded=succeeded, error=error)


def test_a_push_is_added_to_redis_and_a_failed_push_is_kept_for_the_next(clean_redis):
    async def scenario() -> None:
        stats = RunStats(rate_limited=2, latencies=[("caption", 0.3, "ok"), ("image", 7.0, "ok")])
        broken = aioredis.from_url("redis://127.0.0.1:1/0")
        recorder = MetricsRecorder(broken, provider="openai")
        await recorder.record(stats, [outcome(True), outcome(False, "request timed out")])
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
    assert counters == {"openai|generated": 1, "openai|failed|timeout": 1, "openai|rate_limited": 3}
    latency = {k.decode(): float(v) for k, v in clean_redis.hgetall(LATENCY_KEY).items()}
    assert latency["openai|caption|ok|0.5"] == 1
    assert latency["openai|image|ok|10"] == 1
    assert latency["openai|caption|rate_limited|0.1"] == 1
    assert latency["openai|caption|ok|count"] == 1
    assert latency["openai|image|ok|sum"] == pytest.approx(7.0)
