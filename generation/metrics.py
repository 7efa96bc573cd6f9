"""Generation metrics shared by every worker: written to Redis by the jobs, read by /metrics.

Posts are generated in forked RQ work horses on any number of machines, so prometheus_client
counters kept in a process would die with each horse and could never be summed. Instead a
job adds its numbers to two Redis hashes (MetricsRecorder, one pipelined round trip every few
seconds and at the end of the job), and the web process turns those hashes into Prometheus
metrics when it is scraped (GenerationCollector). Counters in Redis only ever grow, like
Prometheus counters; a Redis flush looks to Prometheus like a counter reset, which it handles.

What a scrape shows (names as Prometheus sees them):
- generation_posts_generated_total{provider}
- generation_posts_failed_total{provider, reason}: reason is a FailureReason code, or "internal"
- generation_provider_rate_limited_total{provider}: 429 answers
- generation_provider_request_duration_seconds{provider, kind, outcome}: histogram of every
  provider request (kind caption|image; outcome ok|rate_limited|transient_error|permanent_error)
- generation_batch_duration_seconds{status}: histogram of finished batches, creation to end (from
  PostgreSQL, the truth for batches finished by any path: workers, --sync runs, cancels)
- generation_batches_active{status}: queued and running batches
"""

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from datetime import timedelta

import redis
import redis.asyncio as aioredis
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from generation.domain_port import ACTIVE_BATCH_STATUSES, BatchJob
from generation.runner import RunStats
from generation.store import PostOutcome

log = logging.getLogger(__name__)

COUNTERS_KEY = "metrics:generation:counters"
LATENCY_KEY = "metrics:generation:request_seconds"
# Provider requests take from a fraction of a second (text) to a minute or more (images).
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
# Batches take from seconds (a few posts) to an hour (1,000 posts on a tight rate limit).
BATCH_DURATION_BUCKETS = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0)
PUSH_INTERVAL = 5.0
PUSH_TIMEOUT = 2.0
SEPARATOR = "|"

# A failure with no reason code is an error of ours (a bug), not the provider's.
INTERNAL_REASON = "internal"


def _bucket(seconds: float) -> str:
    return next((f"{le:g}" for le in LATENCY_BUCKETS if seconds <= le), "+Inf")


class MetricsRecorder:
    """Adds one job's numbers to the shared counters in Redis.

    The runner calls `record` after each flush of finished posts; the job calls `push` once
    more at its end. A push is one pipelined round trip; it never raises: metrics must not
    cost a post, so a push that fails keeps its numbers for the next one.
    """

    def __init__(self, client: aioredis.Redis, *, provider: str, interval: float = PUSH_INTERVAL) -> None:
        self.client = client
        self.provider = provider
        self.interval = interval
        self._counters: Counter[str] = Counter()
        self._latency: Counter[str] = Counter()
        self._latency_sums: defaultdict[str, float] = defaultdict(float)  # seconds: a Counter counts in whole numbers
        self._latencies_seen = 0
        self._rate_limited_seen = 0
        self._pushed_at = time.monotonic()

    def _field(self, *parts: str) -> str:
        return SEPARATOR.join((self.provider, *parts))

    def add(self, stats: RunStats, outcomes: Iterable[PostOutcome]) -> None:
        """Take what happened since the last call: finished posts, and the requests in `stats`."""
        for outcome in outcomes:
            if outcome.succeeded:
                self._counters[self._field("generated")] += 1
            else:
                self._counters[self._field("failed", outcome.failure_reason or INTERNAL_REASON)] += 1
        self._counters[self._field("rate_limited")] += stats.rate_limited - self._rate_limited_seen
        self._rate_limited_seen = stats.rate_limited
        latencies = stats.latencies[self._latencies_seen :]
        self._latencies_seen += len(latencies)
        for kind, seconds, result in latencies:
            series = (kind, result)
            self._latency[self._field(*series, _bucket(seconds))] += 1
            self._latency[self._field(*series, "count")] += 1
            self._latency_sums[self._field(*series, "sum")] += seconds

    async def record(self, stats: RunStats, outcomes: Iterable[PostOutcome]) -> None:
        self.add(stats, outcomes)
        if time.monotonic() - self._pushed_at >= self.interval:
            await self.push()

    async def push(self, stats: RunStats | None = None) -> None:
        if stats is not None:
            self.add(stats, ())
        self._pushed_at = time.monotonic()
        counters = {key: n for key, n in self._counters.items() if n}
        latency = {key: n for key, n in self._latency.items() if n}
        sums = {key: seconds for key, seconds in self._latency_sums.items() if seconds}
        if not (counters or latency or sums):
            return
        pipe = self.client.pipeline(transaction=False)
        for key, n in counters.items():
            pipe.hincrby(COUNTERS_KEY, key, n)
        for key, n in latency.items():
            pipe.hincrby(LATENCY_KEY, key, n)
        for key, seconds in sums.items():
            pipe.hincrbyfloat(LATENCY_KEY, key, seconds)
        try:
            await asyncio.wait_for(pipe.execute(), timeout=PUSH_TIMEOUT)
        except Exception as exc:
            log.warning("could not record generation metrics (%s); will try again", type(exc).__name__)
            return
        self._counters.subtract(counters)
        self._latency.subtract(latency)
        for key, seconds in sums.items():
            self._latency_sums[key] -= seconds


def _split(field: bytes) -> list[str]:
    return field.decode().split(SEPARATOR)


def batch_duration_histogram(buckets: tuple[float, ...]) -> dict[str, tuple[list[tuple[float, int]], float]]:
    """Finished batches by final status: cumulative counts per bucket (seconds from creation to end) and
    the sum of their durations, in one aggregate query. The last bucket is +Inf (the status's total).
    """
    duration = ExpressionWrapper(F("finished_at") - F("created_at"), output_field=DurationField())
    counts = {f"le{i}": Count("id", filter=Q(duration__lte=timedelta(seconds=le))) for i, le in enumerate(buckets)}
    rows = (
        BatchJob.objects.filter(finished_at__isnull=False)
        .exclude(status__in=ACTIVE_BATCH_STATUSES)
        .annotate(duration=duration)
        .values("status")
        .annotate(total=Count("id"), seconds=Sum("duration"), **counts)
        .order_by("status")
    )
    histogram = {}
    for row in rows:
        cumulative = [(le, row[f"le{i}"]) for i, le in enumerate(buckets)] + [(float("inf"), row["total"])]
        seconds = row["seconds"].total_seconds() if row["seconds"] else 0.0
        histogram[row["status"]] = (cumulative, seconds)
    return histogram


def active_batch_counts() -> dict[str, int]:
    """Queued and running batches, by status (the status index answers it)."""
    counts = {str(status): 0 for status in ACTIVE_BATCH_STATUSES}
    rows = BatchJob.objects.filter(status__in=ACTIVE_BATCH_STATUSES).values_list("status").annotate(n=Count("id"))
    counts.update(dict(rows.order_by()))
    return counts


class GenerationCollector:
    """A prometheus_client collector that reads the shared counters at scrape time."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def describe(self) -> list:
        # Nothing to describe up front: the registry must not call collect() (Redis) on register.
        return []

    def collect(self) -> Iterator:
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(COUNTERS_KEY)
        pipe.hgetall(LATENCY_KEY)
        counters, latency = pipe.execute()
        yield from self._post_metrics(counters)
        yield self._latency_histogram(latency)
        yield from self._batch_metrics()

    def _post_metrics(self, counters: dict[bytes, bytes]) -> Iterator:
        generated = CounterMetricFamily(
            "generation_posts_generated", "Posts generated successfully, by provider.", labels=["provider"]
        )
        failed = CounterMetricFamily(
            "generation_posts_failed", "Posts that failed, by provider and reason.", labels=["provider", "reason"]
        )
        rate_limited = CounterMetricFamily(
            "generation_provider_rate_limited", "Provider answers with HTTP 429, by provider.", labels=["provider"]
        )
        for field, value in sorted(counters.items()):
            provider, what, *reason = _split(field)
            if what == "generated":
                generated.add_metric([provider], int(value))
            elif what == "failed" and reason:
                failed.add_metric([provider, reason[0]], int(value))
            elif what == "rate_limited":
                rate_limited.add_metric([provider], int(value))
        yield generated
        yield failed
        yield rate_limited

    def _latency_histogram(self, latency: dict[bytes, bytes]) -> HistogramMetricFamily:
        histogram = HistogramMetricFamily(
            "generation_provider_request_duration_seconds",
            "Provider request latency, by provider, request kind and outcome.",
            labels=["provider", "kind", "outcome"],
        )
        series: dict[tuple[str, str, str], dict[str, float]] = {}
        for field, value in latency.items():
            provider, kind, outcome, slot = _split(field)
            series.setdefault((provider, kind, outcome), {})[slot] = float(value)
        for labels, values in sorted(series.items()):
            cumulative, buckets = 0.0, []
            for le in (*(f"{le:g}" for le in LATENCY_BUCKETS), "+Inf"):
                cumulative += values.get(le, 0.0)
                buckets.append((le, cumulative))
            histogram.add_metric(list(labels), buckets, values.get("sum", 0.0))
        return histogram

    def _batch_metrics(self) -> Iterator:
        durations = HistogramMetricFamily(
            "generation_batch_duration_seconds",
            "Finished batches: seconds from creation to the end, by final status.",
            labels=["status"],
        )
        for status, (buckets, total) in sorted(batch_duration_histogram(BATCH_DURATION_BUCKETS).items()):
            labelled = [(f"{le:g}", count) for le, count in buckets[:-1]] + [("+Inf", buckets[-1][1])]
            durations.add_metric([status], labelled, total)
        yield durations
        active = GaugeMetricFamily("generation_batches_active", "Batches queued or running.", labels=["status"])
        for status, count in sorted(active_batch_counts().items()):
            active.add_metric([status], count)
        yield active
