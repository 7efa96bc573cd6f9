"""The async pipeline that turns claimed posts into finished ones.

One Runner serves one RQ job (or one --sync command). It keeps `concurrency` posts in
flight to the provider on asyncio; each post is: caption request -> image request -> fit to
the platform -> store, and makes room for the next one once its image has arrived (see
in_flight.InFlight). Image work runs on one thread per core. Database work goes through a
single thread (see store.py), in rounds: finished posts are written together every
FLUSH_SECONDS or FLUSH_SIZE posts, and new posts are claimed in the same round trip.

Runner.run repeats four steps until nothing is left: watch the clock (the job's time limit,
a shutdown's deadline), flush and claim (that one database round), renew leases, and wait
for posts to end.
"""

import asyncio
import dataclasses
import logging
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from django.db import InterfaceError, OperationalError, close_old_connections, connections

from generation import claims, store
from generation.backoff import DATABASE, keep_trying
from generation.claims import PostTask
from generation.config import EngineConfig, estimated_post_cost, image_cost, text_cost
from generation.domain_port import PendingWork
from generation.images import fit_to_size, store_post_image
from generation.in_flight import InFlight
from generation.post_requests import caption_request, image_request
from generation.provider_requests import ProviderRequests, RunStats
from generation.providers.base import (
    Brief,
    CaptionResult,
    FailureReason,
    ImageResult,
    Provider,
    ProviderError,
    TransientProviderError,
)
from generation.ratelimit import RateLimiter
from generation.store import PostOutcome
from shared.platforms import fit_caption, full_length, rules_for

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.2
FLUSH_SIZE = 32
# Rough token cost of one caption request, reserved against a tokens-per-minute limit.
CAPTION_TOKEN_ESTIMATE = 900
# Threads for image work (draw, fit, thumbnail): one per core. asyncio's default pool has
# cores + 4, which only held more full-size image buffers in memory at once (+80 MB at
# 2 cores against +30 MB), for no more throughput.
IMAGE_THREADS = max(os.cpu_count() or 1, 2)

# Called with the posts each flush wrote (generate_posts' progress bar).
FlushCallback = Callable[[list[PostOutcome]], Awaitable[None] | None]


class StatsRecorder(Protocol):
    """Where a runner reports its written posts and requests: generation.metrics.MetricsRecorder."""

    async def record(self, stats: RunStats, outcomes: list[PostOutcome]) -> None: ...


class Runner:
    def __init__(
        self,
        *,
        config: EngineConfig,
        provider: Provider,
        limiter: RateLimiter,
        owner: str,
        batch_id: int | None = None,
        on_flush: FlushCallback | None = None,
        metrics: StatsRecorder | None = None,
    ) -> None:
        self.config = config
        self.provider = provider
        self.limiter = limiter
        self.owner = owner
        self.batch_id = batch_id
        self.on_flush = on_flush
        self.metrics = metrics  # None without Redis
        self.stats = RunStats()
        self._requests = ProviderRequests(config=config, provider=provider, limiter=limiter, stats=self.stats)
        self.briefs: dict[int, Brief] = {}
        # Posts this runner claimed and has not yet written: the only leases it renews.
        self.held: set[int] = set()
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generation-db")
        self._in_flight = InFlight(config.concurrency)
        # Finished posts not yet written, and since when the oldest has waited.
        self._unsaved: list[PostOutcome] = []
        self._unsaved_since: float | None = None
        self._stopping = False  # claim nothing more: shut_down(), or the job's time is up
        self._exhausted = False  # the last claim found nothing; looked at again when a post ends
        self._stop_claiming_at: float | None = None
        self._shutdown_deadline: float | None = None
        self._next_renewal = 0.0
        # A database call failed since the last claim: it may have committed a claim whose answer
        # never came back, so the next claim takes back the posts leased to us that we don't hold.
        self._answer_lost = False
        # What a batch's posts in flight and not yet written could spend before its counters show
        # it, on every chunk job of the batch: a batch this close to its cap is written post by post.
        self.cap_margin_usd = estimated_post_cost(config) * (2 * config.concurrency + FLUSH_SIZE) * config.max_chunks

    def shut_down(self) -> None:
        """The process is asked to end (SIGTERM): claim nothing more, give the posts in flight
        config.shutdown_seconds to finish, then hand the others back as pending, so that another
        worker takes them at once instead of after their leases expire."""
        if self._shutdown_deadline is None:
            self._stopping = True
            self._shutdown_deadline = self._now() + self.config.shutdown_seconds
            self._in_flight.wake_up()

    async def run(self, *, max_seconds: float | None = None) -> RunStats:
        """Work until nothing is left to claim (or max_seconds pass), then finish what is in flight."""
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=IMAGE_THREADS, thread_name_prefix="generation-image"))
        self._stop_claiming_at = self._now() + max_seconds if max_seconds else None
        self._next_renewal = self._now() + self.config.lease_renewal_seconds
        try:
            while True:
                await self._watch_the_clock()
                await self._flush_and_claim()
                if not self._in_flight and not self._unsaved and (self._exhausted or self._stopping):
                    break
                await self._renew_leases_if_due()
                await self._wait_for_posts()
            if self._shutdown_deadline is not None:
                # What finished is written by now; what was abandoned is still leased to us.
                self.stats.handed_back = await self._in_db(claims.release_leases, owner=self.owner)
                log.info("shut down: %d posts handed back unfinished", self.stats.handed_back)
        except BaseException:
            self._in_flight.cancel()
            try:
                await asyncio.wait_for(self._in_db(claims.release_leases, owner=self.owner), timeout=10)
            except Exception:
                log.warning("could not release leases; they will expire", exc_info=True)
            raise
        finally:
            await loop.run_in_executor(self._db, connections.close_all)
            self._db.shutdown(wait=True)
        return self.stats

    # The run's steps ----------------------------------------------------------------------

    async def _watch_the_clock(self) -> None:
        """At the job's time limit, claim nothing more; at the shutdown deadline, abandon the
        posts still in flight (their leases are released at the end of the run)."""
        now = self._now()
        if self._stop_claiming_at is not None and now >= self._stop_claiming_at:
            self._stopping = True
        if self._in_flight and self._shutdown_deadline is not None and now >= self._shutdown_deadline:
            self._unsaved += await self._in_flight.abandon()

    async def _flush_and_claim(self) -> None:
        """One database round: write the finished posts if it is time, and claim as many new posts
        as there is room for in flight."""
        claim = 0 if (self._stopping or self._exhausted) else self._in_flight.room
        flush = self._flush_due()
        if not claim and not flush:
            return
        outcomes: list[PostOutcome] = []
        if flush:
            outcomes, self._unsaved, self._unsaved_since = self._unsaved, [], None
        written, tasks = await self._in_db(self._db_round, outcomes=outcomes, claim=claim)
        await self._after_flush(outcomes, written)
        self.held.difference_update(outcome.task.post_id for outcome in outcomes)
        self.held.update(task.post_id for task in tasks)
        self.stats.claimed += len(tasks)
        if claim and not tasks:
            self._exhausted = True
        for task in tasks:
            self._in_flight.start(self._generate(task))

    def _flush_due(self) -> bool:
        if not self._unsaved:
            return False
        return (
            len(self._unsaved) >= FLUSH_SIZE
            or not self._in_flight
            or self._now() - (self._unsaved_since or self._now()) >= FLUSH_SECONDS
            # A batch near its cost cap learns its cost at once, so the cap stops it in time.
            or any(outcome.task.near_cost_cap for outcome in self._unsaved)
        )

    async def _renew_leases_if_due(self) -> None:
        """Every config.lease_renewal_seconds, extend the leases on the posts this runner holds."""
        if self._now() < self._next_renewal:
            return
        await self._in_db(
            claims.renew_leases, owner=self.owner, lease_seconds=self.config.lease_seconds, post_ids=sorted(self.held)
        )
        self._next_renewal = self._now() + self.config.lease_renewal_seconds

    async def _wait_for_posts(self) -> None:
        """Until a post ends or hands its place over, or the next flush, renewal or shutdown deadline."""
        if not self._in_flight:
            return
        timeout = FLUSH_SECONDS if self._unsaved else max(min(self._next_renewal - self._now(), 5.0), 0.0)
        if self._shutdown_deadline is not None:
            timeout = max(0.0, min(timeout, self._shutdown_deadline - self._now()))
        outcomes = await self._in_flight.wait(timeout)
        if not outcomes:
            return
        self._unsaved += outcomes
        self._unsaved_since = self._unsaved_since or self._now()
        if self._exhausted and not self._stopping:
            # Posts ended: look again, other batches may have work by now.
            self._exhausted = False

    # Database and bookkeeping -------------------------------------------------------------

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    async def _in_db(self, function, /, **kwargs):
        """Run a store function on the database thread, riding out a database that is briefly away.

        Each store function is one transaction and safe to repeat, so a failed attempt is
        simply made again once the database answers.
        """
        loop = asyncio.get_running_loop()

        async def forget_dead_connections(exc: BaseException, delay: float) -> None:
            log.warning("database unavailable (%s); retrying in %.1fs", exc.__class__.__name__, delay)
            # The failed call may have committed before its answer was lost: the next claim looks.
            self._answer_lost = True
            await loop.run_in_executor(self._db, store.close_database_connections)

        return await keep_trying(
            lambda: loop.run_in_executor(self._db, lambda: function(**kwargs)),
            policy=DATABASE,
            errors=(OperationalError, InterfaceError),
            on_error=forget_dead_connections,
        )

    def _db_round(self, outcomes: list[PostOutcome], claim: int) -> tuple[list[PostOutcome], list[PostTask]]:
        close_old_connections()
        written = store.save_outcomes(owner=self.owner, outcomes=outcomes) if outcomes else []
        tasks = (
            claims.claim_posts(
                owner=self.owner,
                limit=claim,
                lease_seconds=self.config.lease_seconds,
                batch_id=self.batch_id,
                cap_margin_usd=self.cap_margin_usd,
                adopt_unless=set(self.held) if self._answer_lost else None,
            )
            if claim
            else []
        )
        if claim:
            self._answer_lost = False
        missing = {task.campaign_id for task in tasks} - self.briefs.keys()
        if missing:
            self.briefs.update(claims.load_briefs(missing))
        return written, tasks

    async def _after_flush(self, saved: list[PostOutcome], written: list[PostOutcome]) -> None:
        if not saved:
            return
        self.stats.dropped += len(saved) - len(written)
        for outcome in written:
            if outcome.succeeded:
                self.stats.succeeded += 1
            else:
                self.stats.failed += 1
        if self.on_flush:
            result = self.on_flush(written)
            if asyncio.iscoroutine(result):
                await result
        if self.metrics is not None:
            await self.metrics.record(self.stats, written)

    async def _generate(self, task: PostTask) -> PostOutcome:
        """One post, start to end. Never raises: a failure becomes a failed outcome."""
        deadline = asyncio.get_running_loop().time() + self.config.post_deadline
        outcome = PostOutcome(task=task, succeeded=False)
        context = {"post_id": task.post_id, "batch_id": task.batch_id, "attempt": task.attempt}
        try:
            brief = self.briefs[task.campaign_id]
            if task.needs_caption:
                await self._write_caption(task, brief, outcome, deadline)
            else:
                outcome.caption, outcome.hashtags = task.caption, task.hashtags
                outcome.headline, outcome.image_prompt = task.headline, task.image_prompt
            if task.needs_image:
                await self._make_image(task, brief, outcome, deadline)
            outcome.succeeded = True
        except ProviderError as exc:
            outcome.error, outcome.failure_reason = exc.reason, exc.code
            log.warning("post failed: %s", exc.reason, extra={**context, "reason": exc.code})
        except Exception as exc:
            outcome.error = f"internal error ({type(exc).__name__})"
            log.exception("post failed with an internal error", extra=context)
        outcome.cost_usd = text_cost(self.config, outcome.prompt_tokens, outcome.completion_tokens) + image_cost(
            self.config, outcome.images
        )
        return outcome

    async def _write_caption(self, task: PostTask, brief: Brief, outcome: PostOutcome, deadline: float) -> None:
        rules = rules_for(task.platform)
        regeneration = task.pending_work != PendingWork.BATCH
        # A regeneration: the provider is told which caption to replace, and which attempt this is.
        request = caption_request(
            brief=brief,
            platform=task.platform,
            sequence=task.sequence,
            post_id=task.post_id,
            attempt=task.attempt if regeneration else 0,
            avoid_caption=task.caption if regeneration else "",
        )
        result: CaptionResult = await self._requests.send(
            "caption", lambda: self.provider.caption(request), task, deadline, tokens=CAPTION_TOKEN_ESTIMATE
        )
        outcome.prompt_tokens += result.prompt_tokens
        outcome.completion_tokens += result.completion_tokens
        hashtags = list(brief.hashtags) + [tag for tag in result.hashtags if tag not in brief.hashtags]
        length = full_length(result.caption, hashtags[: rules.max_hashtags])
        if length > rules.caption_limit and self.provider.uses_network:
            # Too long: ask once more for a shorter one before shortening it ourselves.
            retry = dataclasses.replace(request, shorter_than=length)
            try:
                result = await self._requests.send(
                    "caption", lambda: self.provider.caption(retry), task, deadline, tokens=CAPTION_TOKEN_ESTIMATE
                )
                outcome.prompt_tokens += result.prompt_tokens
                outcome.completion_tokens += result.completion_tokens
                hashtags = list(brief.hashtags) + [tag for tag in result.hashtags if tag not in brief.hashtags]
            except ProviderError:
                pass  # keep the first answer; fit_caption shortens it at a word boundary
        outcome.caption, outcome.hashtags = fit_caption(result.caption, hashtags, task.platform)
        if not outcome.caption:
            raise TransientProviderError(
                "the caption could not be fitted to the platform's limit", code=FailureReason.MALFORMED
            )
        outcome.headline = result.headline or outcome.caption.split("\n")[0][:60]
        outcome.image_prompt = result.image_prompt or outcome.headline

    async def _make_image(self, task: PostTask, brief: Brief, outcome: PostOutcome, deadline: float) -> None:
        rules = rules_for(task.platform)
        request = image_request(
            brief=brief,
            platform=task.platform,
            sequence=task.sequence,
            post_id=task.post_id,
            prompt=outcome.image_prompt or task.image_prompt or outcome.caption[:300],
            headline=outcome.headline or task.headline,
        )

        async def fit(result: ImageResult) -> bytes:
            outcome.images += 1  # the provider charges for an image even if it arrives broken
            self._in_flight.requests_over(task)
            if result.fitted:
                return result.data
            try:
                return await asyncio.to_thread(fit_to_size, result.data, rules.image_width, rules.image_height)
            except ProviderError:
                # A truncated image fails to decode here, and the request is tried again.
                self._in_flight.requesting_again(task)
                raise

        data = await self._requests.send(
            "image", lambda: self.provider.image(request), task, deadline, image=True, accept=fit
        )
        outcome.image_name, outcome.thumbnail_name = await asyncio.to_thread(
            store_post_image, task.campaign_id, task.post_id, data
        )
