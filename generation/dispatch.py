"""The engine's public API: the one module of `generation` that the domain (`campaigns`) imports.

campaigns.services puts work on the queue through it (on commit), the admin shows a batch's
chunk jobs through it, and the campaign form asks it for sample captions. Everything else of
the engine stays behind it; the import-linter contracts in pyproject.toml hold both sides to that.
"""

from collections.abc import Callable
from decimal import Decimal

from campaigns.models import Campaign
from generation import jobs, preview, queue
from generation.config import economy_unavailable_reason, engine_config, estimated_post_cost
from generation.preview import CaptionPreview
from generation.runner import RunStats

QUEUE_NAME = queue.QUEUE_NAME


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
