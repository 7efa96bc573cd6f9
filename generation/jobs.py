"""RQ entry points. Each is a thin wrapper: build the engine's parts, run, clean up."""

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import threading
from collections.abc import Iterator

from django.db import connections
from rq import get_current_job

from generation import recovery
from generation.config import EngineConfig, engine_config, redis_client
from generation.metrics import MetricsRecorder
from generation.providers import build_provider
from generation.ratelimit import LocalRateLimiter, RedisRateLimiter
from generation.runner import FlushCallback, Runner, RunStats

log = logging.getLogger(__name__)


def lease_owner() -> str:
    """Unique per running job: host, process and a random suffix."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


async def _run_chunk(config: EngineConfig, owner: str) -> RunStats:
    client = redis_client(config)
    provider = build_provider(config)
    metrics = MetricsRecorder(client, provider=config.provider)
    stats = None
    try:
        runner = Runner(
            config=config,
            provider=provider,
            limiter=RedisRateLimiter.for_config(config, client),
            owner=owner,
            metrics=metrics,
        )
        stats = runner.stats
        with shut_down_on_sigterm(runner):
            return await runner.run(max_seconds=config.chunk_seconds)
    finally:
        await metrics.push(stats)
        await provider.aclose()
        await client.aclose()


@contextlib.contextmanager
def shut_down_on_sigterm(runner: Runner) -> Iterator[None]:
    """SIGTERM (a deploy, a scale-down; GenerationWorker passes its own on to the work horse) makes
    the runner finish or hand back its posts instead of dying with them leased."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGTERM)
    loop.add_signal_handler(signal.SIGTERM, runner.shut_down)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, previous)


def run_chunk(batch_id: int | None, chunk: int = 0) -> dict:
    """One worker's turn at the pool of pending posts.

    It was enqueued for `batch_id`, but claims posts fairly across all running batches
    (see claims.claim_posts), so concurrent batches share workers instead of queueing behind
    each other. It ends when nothing is left to claim, or after GENERATION_CHUNK_SECONDS,
    in which case it enqueues its own continuation.
    """
    config = engine_config()
    owner = lease_owner()
    job = get_current_job()
    extra = {"batch_id": batch_id, "worker": owner}
    log.info("chunk %s started", chunk, extra=extra)
    connections.close_all()
    stats = asyncio.run(_run_chunk(config, owner))
    log.info(
        "chunk %s done: %d succeeded, %d failed, %d requests, %d rate limited",
        chunk,
        stats.succeeded,
        stats.failed,
        stats.requests,
        stats.rate_limited,
        extra=extra,
    )
    if recovery.has_claimable_work():
        # Stopped at the time limit with work left: hand over to a fresh job.
        recovery.enqueue_lost_work(config=config, reason="continue")
    connections.close_all()
    return {**stats.as_dict(), "job_id": job.id if job else None, "worker": owner}


def run_batch_inline(batch_id: int, *, on_flush: FlushCallback | None = None) -> RunStats:
    """Generate one batch in this process, without Redis or RQ (generate_posts --sync)."""
    config = engine_config()

    async def main() -> RunStats:
        provider = build_provider(config)
        try:
            runner = Runner(
                config=config,
                provider=provider,
                limiter=LocalRateLimiter.for_config(config),
                owner=lease_owner(),
                batch_id=batch_id,
                on_flush=on_flush,
            )
            return await runner.run()
        finally:
            await provider.aclose()

    connections.close_all()
    return asyncio.run(main())


def recover() -> list[int]:
    """RQ entry point for recovery, to enqueue by hand (the clock's periodic recovery, clock.tasks, runs the same)."""
    return recovery.enqueue_lost_work(config=engine_config(), reason="recover")
