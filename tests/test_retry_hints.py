"""Every retry hint honoured: Retry-After (seconds or an HTTP date) and retry-after-ms on 408, 409, 429 and
5xx, capped by GENERATION_RETRY_AFTER_CAP, and learned by the shared limiter."""

import pytest

from campaigns.models import BatchStatus
from campaigns.services import batch_start
from generation.jobs import run_batch_inline
from tests.factories import CampaignFactory
from tests.fake_openai import Config
from tests.support import wait_for_batch_end
from tests.test_workers import assert_exactly

# The server's clock and ours are one; the date form is rounded up to the second by the fake.
EPSILON = 0.02
# The time a client may take to read an answer and tell the shared limiter (loopback, two busy cores).
HINT_READ_SECONDS = 0.25


def api_requests(fake_openai) -> list[dict]:
    return sorted(
        (r for r in fake_openai.stats()["requests"] if r["endpoint"] in ("chat", "images")),
        key=lambda r: r["arrived_at"],
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("status", "hint"),
    [
        ("503", "retry-after"),
        ("503", "retry-after-date"),
        ("500", "retry-after-ms"),
        ("502", "retry-after"),
        ("408", "retry-after-ms"),
        ("409", "retry-after"),
        ("429", "retry-after-ms"),
    ],
)
def test_a_hinted_error_is_retried_no_earlier_than_asked(openai_settings, fake_openai, status, hint):
    fake_openai.configure(Config(fault_sequence=[status], retry_hints={status: {hint: 1.0}}))
    batch = batch_start(campaign=CampaignFactory(platforms=["instagram"]), count=1, enqueue=False, actor=None)
    run_batch_inline(batch.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.succeeded_count) == (BatchStatus.SUCCEEDED, 1)
    failed, retried, *_ = api_requests(fake_openai)
    assert (failed["status"], failed["fault"]) == (int(status), status)
    assert failed["retry_after"] >= 1.0
    waited = retried["arrived_at"] - failed["answered_at"]
    assert waited >= failed["retry_after"] - EPSILON, f"retried {waited:.3f}s after, {failed['retry_after']}s asked"


@pytest.mark.django_db(transaction=True)
def test_every_request_waits_out_a_503s_retry_after_not_only_its_own(openai_settings, fake_openai):
    """The shared limiter learns the hint: requests of other posts that leave after it wait too."""
    fake_openai.configure(Config(fault_sequence=["503"], retry_hints={"503": {"retry-after": 1}}, text_latency=0.05))
    batch = batch_start(campaign=CampaignFactory(platforms=["instagram"]), count=6, enqueue=False, actor=None)
    run_batch_inline(batch.pk)
    batch.refresh_from_db()
    assert batch.succeeded_count == 6
    requests = api_requests(fake_openai)
    failed = next(r for r in requests if r["status"] == 503)
    # A request that left while the 503 was still on its way back can't have known the hint: only
    # those arriving after the client had time to read the answer must have waited.
    later = [r for r in requests if r["arrived_at"] > failed["answered_at"] + HINT_READ_SECONDS]
    assert later and all(r["arrived_at"] >= failed["answered_at"] + 1.0 - EPSILON for r in later)


@pytest.mark.django_db(transaction=True)
def test_a_retry_after_beyond_the_cap_waits_the_cap(openai_settings, fake_openai):
    openai_settings.GENERATION_RETRY_AFTER_CAP = 0.5
    fake_openai.configure(Config(fault_sequence=["503"], retry_hints={"503": {"retry-after": 3600}}))
    batch = batch_start(campaign=CampaignFactory(platforms=["instagram"]), count=1, enqueue=False, actor=None)
    run_batch_inline(batch.pk)
    batch.refresh_from_db()
    assert batch.succeeded_count == 1
    failed, retried, *_ = api_requests(fake_openai)
    assert 0.5 - EPSILON <= retried["arrived_at"] - failed["answered_at"] < 5


@pytest.mark.workers
@pytest.mark.slow
def test_a_120_rpm_quota_answers_at_most_two_429s_for_100_posts(workers, openai_env, fake_openai):
    """The issue's bound: 120 requests a minute, the server's bucket full at the start, no GENERATION_RPM:
    the limiter learns the limit, and what is left of it, from the first answers."""
    fake_openai.configure(Config(rpm=120, text_latency=0.2, image_latency=0.2))
    workers.start("metered", **openai_env, GENERATION_CONCURRENCY=16)
    batch = batch_start(campaign=CampaignFactory(), count=100, actor=None)
    wait_for_batch_end(batch, timeout=150)
    assert (batch.status, batch.succeeded_count) == (BatchStatus.SUCCEEDED, 100)
    assert_exactly(batch, 100)
    counts = fake_openai.stats()["counts"]
    rate_limited = counts.get("chat:429", 0) + counts.get("images:429", 0)
    print(f"HTTP 429 answers: {rate_limited}")
    assert rate_limited <= 2
