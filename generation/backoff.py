"""How long the engine waits before trying again: one formula, and a named policy per thing it waits for.

Every retry in the engine grows its wait exponentially up to a cap, with some of it drawn at
random so that many waiters do not come back at the same moment:

    delay(n) = min(cap, base * 2**n) * uniform(1 - jitter, 1)      n = 1, 2, 3, ... (failures so far)

jitter 0 waits the full amount, 1 anything from nothing to it ("full jitter"). A policy with
`give_up_after` stops retrying once that many seconds have passed since the first try.
"""

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    base: float
    cap: float
    jitter: float = 0.0
    give_up_after: float | None = None  # seconds; None: never (the caller has its own limit)

    def delay(self, failures: int) -> float:
        """Seconds to wait after the `failures`-th failure in a row (1 for the first)."""
        ceiling = min(self.cap, self.base * 2**failures)
        return ceiling * random.uniform(1.0 - self.jitter, 1.0)


# A provider request that failed for a transient reason (5xx, timeout, malformed answer); the
# runner stops at GENERATION_MAX_TRIES or the post's deadline. Full jitter: a provider that
# hiccuped for every worker at once gets its requests back spread out.
PROVIDER_REQUEST = Backoff(base=0.5, cap=20.0, jitter=1.0)
# PostgreSQL briefly away (a restart, a failover): a worker waits up to two minutes, then its
# job fails and its leases expire for another worker. Tries at least every second: a worker
# that comes back seconds after the database would miss its lease renewals (every 5 s, for 15 s
# leases), and another worker would take over (and pay for) posts it is still generating.
DATABASE = Backoff(base=0.25, cap=1.0, give_up_after=120.0)
# Redis away, for the shared rate limiter: requests wait for it rather than go unmetered, up to
# two minutes, after which their posts fail with that reason.
RATE_LIMITER_REDIS = Backoff(base=0.2, cap=3.0, jitter=0.5, give_up_after=120.0)
# Redis away, for an RQ worker's own bookkeeping (heartbeats, dequeuing, job status): it waits
# for as long as it takes; a few seconds between tries, so that work resumes soon after Redis.
WORKER_REDIS = Backoff(base=0.5, cap=5.0)


async def keep_trying(
    operation: Callable[[], Awaitable[T]],
    *,
    policy: Backoff,
    errors: tuple[type[BaseException], ...],
    on_error: Callable[[BaseException, float], Awaitable[None]] | None = None,
) -> T:
    """Await `operation()` until it raises none of `errors`, waiting policy.delay(n) between tries.

    `on_error(exc, delay)` hears of each failure before the wait (to log it, or to close a dead
    connection). Past policy.give_up_after seconds the last error is raised.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    failures = 0
    while True:
        try:
            return await operation()
        except errors as exc:
            failures += 1
            if policy.give_up_after is not None and loop.time() - started >= policy.give_up_after:
                raise
            delay = policy.delay(failures)
            if on_error is not None:
                await on_error(exc, delay)
            await asyncio.sleep(delay)
