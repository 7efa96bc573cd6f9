"""The engine's one backoff formula, and the retry loop built on it."""

import asyncio

import pytest

from generation.backoff import Backoff, keep_trying


def test_delays_double_up_to_the_cap():
    policy = Backoff(base=0.25, cap=5.0)
    assert [policy.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


@pytest.mark.parametrize(("jitter", "lowest"), [(1.0, 0.0), (0.5, 0.5)])
def test_jitter_draws_below_the_full_delay(jitter, lowest):
    policy = Backoff(base=1.0, cap=8.0, jitter=jitter)
    delays = [policy.delay(2) for _ in range(500)]
    assert all(4.0 * lowest <= delay <= 4.0 for delay in delays)
    assert len(set(delays)) > 1


def test_keep_trying_retries_the_listed_errors_and_reports_each():
    failures = iter([ConnectionError("away"), ConnectionError("still away")])
    heard = []

    async def flaky() -> str:
        error = next(failures, None)
        if error:
            raise error
        return "answer"

    async def on_error(exc, delay):
        heard.append((str(exc), delay))

    policy = Backoff(base=0.005, cap=0.02)
    assert asyncio.run(keep_trying(flaky, policy=policy, errors=(ConnectionError,), on_error=on_error)) == "answer"
    assert heard == [("away", 0.01), ("still away", 0.02)]


def test_keep_trying_gives_up_with_the_last_error_and_lets_others_through():
    calls = []

    async def down() -> None:
        calls.append(1)
        raise ConnectionError(f"refused {len(calls)}")

    policy = Backoff(base=0.01, cap=0.02, give_up_after=0.1)
    with pytest.raises(ConnectionError, match=r"refused \d+"):
        asyncio.run(keep_trying(down, policy=policy, errors=(ConnectionError,)))
    assert len(calls) > 1

    async def broken() -> None:
        raise ValueError("not a retryable error")

    with pytest.raises(ValueError):
        asyncio.run(keep_trying(broken, policy=policy, errors=(ConnectionError,)))
