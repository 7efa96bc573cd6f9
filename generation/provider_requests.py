"""One provider request as the engine sends it: through the limiter that all workers share,
retried with backoff and jitter when it fails for a while, paused for everyone on a 429, and
given up at the post's deadline. Each request's latency and outcome go into the run's stats."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from generation.backoff import PROVIDER_REQUEST
from generation.claims import PostTask
from generation.config import EngineConfig
from generation.providers.base import (
    FailureReason,
    PermanentProviderError,
    Provider,
    ProviderError,
    RateLimitedError,
    TransientProviderError,
)
from generation.ratelimit import RateLimiter

log = logging.getLogger(__name__)

_Answer = TypeVar("_Answer")  # what a provider request answers
_Kept = TypeVar("_Kept")  # what `accept` makes of it


@dataclass
class RunStats:
    claimed: int = 0
    succeeded: int = 0
    failed: int = 0
    dropped: int = 0
    handed_back: int = 0
    rate_limited: int = 0
    requests: int = 0
    latencies: list[tuple[str, float, str]] = field(default_factory=list)  # (kind, seconds, outcome)

    def as_dict(self) -> dict[str, int]:
        return {
            "claimed": self.claimed,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "dropped": self.dropped,
            "handed_back": self.handed_back,
            "rate_limited": self.rate_limited,
            "requests": self.requests,
        }


class ProviderRequests:
    def __init__(self, *, config: EngineConfig, provider: Provider, limiter: RateLimiter, stats: RunStats) -> None:
        self.config = config
        self.provider = provider
        self.limiter = limiter
        self.stats = stats

    @overload
    async def send(
        self,
        kind: str,
        request: Callable[[], Awaitable[_Answer]],
        task: PostTask,
        deadline: float,
        *,
        image: bool = False,
        tokens: int = 0,
        accept: None = None,
    ) -> _Answer: ...

    @overload
    async def send(
        self,
        kind: str,
        request: Callable[[], Awaitable[_Answer]],
        task: PostTask,
        deadline: float,
        *,
        image: bool = False,
        tokens: int = 0,
        accept: Callable[[_Answer], Awaitable[_Kept]],
    ) -> _Kept: ...

    async def send(
        self,
        kind: str,
        request: Callable[[], Awaitable[Any]],
        task: PostTask,
        deadline: float,
        *,
        image: bool = False,
        tokens: int = 0,
        accept: Callable[[Any], Awaitable[Any]] | None = None,
    ) -> Any:
        """Send one provider request with the shared limiter, retrying transient failures.

        `accept` turns the answer into what the caller keeps, and may reject it as a
        transient error (a truncated image) to have the request tried again. Retries use
        exponential backoff with jitter, up to max_tries; a 429 pauses every worker and does
        not use up a try. Everything stops at the post's deadline.
        """
        loop = asyncio.get_running_loop()
        tries = 0
        last_error: ProviderError | None = None
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                reason = last_error.reason if last_error else "no answer"
                raise PermanentProviderError(
                    f"gave up after the post's deadline: {reason}",
                    code=last_error.code if last_error else FailureReason.TIMEOUT,
                )
            if self.provider.uses_network:
                await self.limiter.acquire(image=image, tokens=0 if image else tokens)
            started = time.monotonic()
            # The post's deadline, not the request's own timeout, may be what ends this try.
            cut_by_deadline = remaining < self.config.request_timeout
            try:
                self.stats.requests += 1
                result = await asyncio.wait_for(request(), timeout=min(self.config.request_timeout, remaining))
                if self.provider.uses_network and getattr(result, "rate_limit", None) is not None:
                    await self.limiter.observe(result.rate_limit)
                if accept is not None:
                    result = await accept(result)
            except RateLimitedError as exc:
                self.stats.rate_limited += 1
                latency = self._record(kind, started, "rate_limited")
                hinted = self.hinted_wait(exc)
                pause = hinted if hinted is not None else 1.0
                log.info(
                    "%s request rate limited; every worker pauses %.1fs",
                    kind,
                    pause,
                    extra={**self._log_context(task), "latency_ms": round(latency * 1000)},
                )
                await self.limiter.pause(pause)
                last_error = exc
                continue
            except (TransientProviderError, TimeoutError) as exc:
                if isinstance(exc, TimeoutError) and cut_by_deadline:
                    # Not the provider's failure: the post gives up (at the loop's top) with the
                    # error that made it try again, not "request timed out".
                    self._record(kind, started, "transient_error")
                    continue
                error = (
                    exc
                    if isinstance(exc, ProviderError)
                    else TransientProviderError("request timed out", code=FailureReason.TIMEOUT)
                )
                latency = self._record(kind, started, "transient_error")
                tries += 1
                last_error = error
                if tries >= self.config.max_tries:
                    raise PermanentProviderError(f"{error.reason} (after {tries} tries)", code=error.code) from exc
                delay = PROVIDER_REQUEST.delay(tries)
                hinted = self.hinted_wait(error)
                if hinted is not None:
                    # The server said when to come back: this post waits at least that long, and so
                    # does every other request to it (the shared limiter pauses).
                    delay = max(delay, hinted)
                    if self.provider.uses_network:
                        await self.limiter.pause(hinted)
                log.info(
                    "retrying %s request in %.2fs: %s",
                    kind,
                    delay,
                    error.reason,
                    extra={**self._log_context(task), "try": tries, "latency_ms": round(latency * 1000)},
                )
                # Past the deadline no retry is made at all, never one earlier than the server asked.
                await asyncio.sleep(min(delay, max(deadline - loop.time(), 0)))
                continue
            except PermanentProviderError:
                self._record(kind, started, "permanent_error")
                raise
            latency = self._record(kind, started, "ok")
            log.log(
                logging.INFO if self.provider.uses_network else logging.DEBUG,  # local "requests" are just drawing
                "%s request done",
                kind,
                extra={**self._log_context(task), "latency_ms": round(latency * 1000)},
            )
            return result

    def hinted_wait(self, error: ProviderError) -> float | None:
        """The wait the server asked for with this error (Retry-After), capped by GENERATION_RETRY_AFTER_CAP."""
        if error.retry_after is None:
            return None
        return min(error.retry_after, self.config.retry_after_cap)

    def _log_context(self, task: PostTask) -> dict[str, object]:
        return {
            "batch_id": task.batch_id,
            "post_id": task.post_id,
            "attempt": task.attempt,
            "provider": self.provider.name,
        }

    def _record(self, kind: str, started: float, outcome: str) -> float:
        latency = time.monotonic() - started
        self.stats.latencies.append((kind, latency, outcome))
        return latency
