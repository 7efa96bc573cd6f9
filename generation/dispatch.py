"""The engine's public API: the one module of `generation` that the apps above it import.

campaigns.services puts work on the queue through it (on commit) and hands economy batches to the
engine, the admin shows a batch's chunk jobs and provider batches through it, and the campaign
form asks it for sample captions. Everything else of
the engine stays behind it; the import-linter contracts in pyproject.toml hold both sides to that.
"""

import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from generation import jobs, preview, queue
from generation.config import economy_unavailable_reason, engine_config, estimated_post_cost
from generation.domain_port import Campaign
from generation.models import ECONOMY_LEASE, BatchPhase, ProviderBatch, ProviderBatchStatus, economy_lease_owner
from generation.preview import CaptionPreview
from generation.runner import RunStats
from generation.store import PostOutcome

QUEUE_NAME = queue.QUEUE_NAME

# The labels of an economy batch's progress, and what generate_batch_now reports as it writes.
__all__ = ["BatchPhase", "PostOutcome", "ProviderBatchStatus"]


def enqueue_batch(batch_id: int, count: int, *, reason: str = "start") -> list[str]:
    """Enqueue the chunk jobs that will generate a batch's `count` pending posts; their ids."""
    return queue.enqueue_chunks(batch_id, count, config=engine_config(), reason=reason)


def enqueue_post_work(post_id: int) -> list[str]:
    """Enqueue work for one post (a regeneration): the next chunk job takes it first."""
    return queue.enqueue_chunks(None, 1, config=engine_config(), reason=f"post{post_id}")


def job_statuses(job_ids: list[str]) -> list[dict] | None:
    """[{id, status, worker}] of chunk jobs as RQ knows them; None when Redis does not answer."""
    return queue.job_statuses(job_ids)


def generate_batch_now(batch_id: int, *, on_flush: Callable | None = None) -> RunStats:
    """Generate a batch in this process, without Redis or a worker (generate_posts --sync)."""
    return jobs.run_batch_inline(batch_id, on_flush=on_flush)


def economy_refusal() -> str | None:
    """Why an economy batch can not be started with the configured provider; None when it can."""
    return economy_unavailable_reason(engine_config())


def engine_models() -> tuple[str, str, str]:
    """(provider, text model, image model): what a new batch records it was generated with."""
    config = engine_config()
    return (config.provider, *config.model_names)


def post_cost_estimate(*, economy: bool = False) -> Decimal:
    """What one post of a new batch is expected to cost in USD with today's provider, models and
    GENERATION_PRICES (0 with the local provider, or with models missing from the prices); with
    economy=True at the Batch API's prices."""
    return estimated_post_cost(engine_config(), economy=economy)


def preview_captions(*, campaign: Campaign, platforms: list[str], variant: int = 0) -> list[CaptionPreview]:
    """One caption per platform for a campaign that may not be saved yet (the campaign form's preview).

    Answers within preview.PREVIEW_SECONDS and never waits in line behind batches for the
    provider's rate limit: provider trouble, or a provider busy with batches, comes back as each
    preview's `error`. `variant` picks the angle, as a post's position in a batch does.
    """
    return preview.caption_previews(campaign, platforms, variant=variant)


def economy_lease(batch_id: int) -> dict[str, str | datetime]:
    """The lease an economy batch's posts are created under: the batch itself holds them while the
    provider works on them (generation.models.ECONOMY_LEASE), so no chunk job claims them."""
    return {"lease_owner": economy_lease_owner(batch_id), "lease_expires_at": timezone.now() + ECONOMY_LEASE}


def economy_batch_prepare(batch_id: int, post_ids: list[int]) -> None:
    """Record the first provider batch (captions) of a new economy batch; the pollers submit it.
    Call inside the transaction that creates the batch."""
    ProviderBatch.objects.create(
        batch_id=batch_id, phase=BatchPhase.CAPTIONS, post_ids=post_ids, submission_key=uuid.uuid4().hex
    )


def economy_batch_poll_now(batch_id: int) -> None:
    """Make the batch's unfinished provider batches due now (a cancel: the next poll cancels them)."""
    ProviderBatch.objects.filter(batch_id=batch_id, done=False).update(next_poll_at=timezone.now())


def provider_batches(batch_id: int) -> QuerySet[ProviderBatch]:
    """An economy batch's provider batches, oldest first (the admin's batch page)."""
    return ProviderBatch.objects.filter(batch_id=batch_id).order_by("created_at", "id")


def ping_queue() -> None:
    """Raise redis.RedisError when the queue's Redis does not answer (before a run writes anything)."""
    queue.ping()
