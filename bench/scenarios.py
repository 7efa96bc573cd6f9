"""The scenarios of issue 6, the ideal time each one allows, and the targets it is held to.

Ideal time (what the provider's latency and rate limit allow, with zero orchestration cost):

    S          = workers * concurrency            posts in flight at once
    L          = text_latency + image_latency     one post: a caption request, then an image request
    T_latency  = ceil(N / S) * L                  some slot must run ceil(N/S) posts one after another
    Q          = 2 * N                            requests (one caption and one image per post)
    B          = the provider's bucket, full at start (the fake server's holds `rpm` requests)
    T_rate     = max(0, Q - B) * 60 / rpm + image_latency
                                                  the requests beyond the bucket come at the refill rate;
                                                  the last one is an image, and takes its latency
    ideal      = max(T_latency, T_rate)           (T_rate = 0 without a rate limit)

Both terms are lower bounds, so ratio = measured / ideal >= 1 and the excess is our overhead.
The local provider has no latency or limit: its scenario has no ideal, only a throughput target.
"""

import math
from dataclasses import dataclass

# The reference system's published table (the system this one replaces; BENCHMARKS.md): posts -> seconds.
REFERENCE_SECONDS = {10: 40.0, 50: 186.0, 100: 378.0}
REFERENCE_POSTS_PER_MINUTE = 16.0

IDEAL_FORMULA = (
    "ideal = max(ceil(N / (workers*concurrency)) * (text + image latency), "
    "max(0, 2N - bucket) * 60 / rpm + image latency); bucket = rpm, full at start"
)


@dataclass(frozen=True)
class Scenario:
    name: str
    group: str  # reference | latency | ratelimit | orchestration
    posts: int
    workers: int
    concurrency: int
    provider: str = "openai"  # "openai" against the fake server, or "local"
    text_latency: float = 0.0
    image_latency: float = 0.0
    rpm: int = 0  # 0: no rate limit, on the server or in the engine
    reference_seconds: float | None = None
    description: str = ""

    @property
    def slots(self) -> int:
        return self.workers * self.concurrency

    @property
    def latency_seconds(self) -> float | None:
        if self.provider == "local":
            return None
        return math.ceil(self.posts / self.slots) * (self.text_latency + self.image_latency)

    @property
    def rate_seconds(self) -> float | None:
        if self.provider == "local" or not self.rpm:
            return None
        bucket = self.rpm  # the fake server's bucket holds a minute's worth, as OpenAI's does
        return max(0, 2 * self.posts - bucket) * 60.0 / self.rpm + self.image_latency

    @property
    def ideal_seconds(self) -> float | None:
        terms = [t for t in (self.latency_seconds, self.rate_seconds) if t is not None]
        return max(terms) if terms else None


@dataclass
class Target:
    label: str
    met: bool
    value: str


def targets_for(scenario: Scenario, row: dict) -> list[Target]:
    """Issue 6's targets for one measured row (never asserted in tests: timings are noisy)."""
    targets: list[Target] = []
    ratio = row.get("ratio")
    if scenario.group in ("reference", "latency", "ratelimit") and ratio is not None:
        targets.append(Target("ratio <= 1.10", ratio <= 1.10, f"{ratio:.2f}"))
    if scenario.group == "reference" and scenario.reference_seconds and scenario.posts == 100:
        limit = scenario.reference_seconds / 10
        targets.append(Target(f"< {limit:.1f} s", row["seconds"] < limit, f"{row['seconds']:.1f} s"))
    if scenario.group == "ratelimit":
        targets.append(Target("0 failed", row["failed"] == 0, str(row["failed"])))
        targets.append(Target("< 5 HTTP 429", row["http_429"] < 5, str(row["http_429"])))
    if scenario.group == "orchestration":
        rate = row["posts_per_second"]
        targets.append(Target(">= 50 posts/s", rate >= 50, f"{rate:.1f}"))
        growth = row.get("rss_growth_mb")
        if growth is not None:
            targets.append(Target("RSS growth < 30 MB", growth < 30, f"{growth:.1f} MB"))
        limit = 2 * scenario.workers
        targets.append(
            Target(f"PG conns <= {limit}", row["peak_pg_connections"] <= limit, str(row["peak_pg_connections"]))
        )
    if scenario.group != "ratelimit" and row["failed"]:
        targets.append(Target("0 failed", False, str(row["failed"])))
    return targets


def full_suite() -> list[Scenario]:
    reference = [
        Scenario(
            name=f"reference-{n}",
            group="reference",
            posts=n,
            workers=2,
            concurrency=32,
            text_latency=2.0,
            image_latency=12.0,
            reference_seconds=REFERENCE_SECONDS[n],
            description="the reference's own table at its latency (2 s text, 12 s image)",
        )
        for n in (10, 50, 100)
    ]
    latency = [
        Scenario(
            name=f"latency-{k}w",
            group="latency",
            posts=200,
            workers=k,
            concurrency=16,
            text_latency=1.0,
            image_latency=1.0,
            description="latency-bound: 1 s per request, no rate limit",
        )
        for k in (1, 2)
    ]
    ratelimit = Scenario(
        name="ratelimit",
        group="ratelimit",
        posts=100,
        workers=2,
        concurrency=16,
        text_latency=1.0,
        image_latency=1.0,
        rpm=120,
        description="rate-limit-bound: 120 requests/minute, the server's bucket full at start",
    )
    orchestration = Scenario(
        name="orchestration",
        group="orchestration",
        posts=1000,
        workers=2,
        concurrency=16,
        provider="local",
        description="orchestration only: the local provider, no network",
    )
    return [*reference, *latency, ratelimit, orchestration]


def smoke_suite() -> list[Scenario]:
    """One small scenario of each kind, on one worker: seconds, not minutes (CI)."""
    return [
        Scenario(
            name="smoke-reference",
            group="reference",
            posts=10,
            workers=1,
            concurrency=8,
            text_latency=0.05,
            image_latency=0.2,
            reference_seconds=REFERENCE_SECONDS[10],
        ),
        Scenario(
            name="smoke-ratelimit",
            group="ratelimit",
            posts=12,
            workers=1,
            concurrency=8,
            text_latency=0.05,
            image_latency=0.05,
            rpm=600,
        ),
        Scenario(
            name="smoke-orchestration", group="orchestration", posts=40, workers=1, concurrency=8, provider="local"
        ),
    ]
