"""The engine's writes of results into posts and batches (claims.py takes the posts).

Every function here is synchronous and short; the runner calls them from one dedicated
thread, so a worker holds one database connection whatever its concurrency.

The invariants they keep (docs/architecture.md):
- a post is worked on only under a lease taken by one conditional UPDATE (claim_posts);
- a result is written only while its lease is held (save_outcomes), so a post whose
  lease expired and was taken by another worker is never written twice;
- batch counters move with F() in the same transaction as the posts' final states, and
  the batch's final status is set once, by the conditional UPDATE in finalize_batch.
"""

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import connections, models, transaction
from django.db.models import Case, Count, F, Value, When
from django.utils import timezone

from generation import domain_port
from generation.claims import PostTask
from generation.domain_port import (
    ACTIVE_BATCH_STATUSES,
    BatchJob,
    BatchStatus,
    GenerationStatus,
    PendingWork,
    Post,
)
from generation.images import delete_stored_images
from shared.failure_reasons import failure_label

log = logging.getLogger(__name__)


@dataclass
class PostOutcome:
    task: PostTask
    succeeded: bool
    error: str = ""  # for staff and logs: may hold the provider's words (redacted)
    failure_reason: str = ""  # a FailureReason; "" for an internal error
    caption: str = ""
    hashtags: list[str] = field(default_factory=list)
    headline: str = ""
    image_prompt: str = ""
    image_name: str = ""  # the newly stored image, if one was made
    thumbnail_name: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    images: int = 0
    cost_usd: Decimal = Decimal("0")


def close_database_connections() -> None:
    """Close this thread's connections and Django's connection pool with them.

    Before a fork, so that a work horse never shares a socket with its parent; and after
    the database failed, because the connections idle in the pool died with it and would
    otherwise be found out one failed query (and one backoff) at a time.
    """
    for connection in connections.all(initialized_only=True):
        connection.close()
        if getattr(connection, "pool", None) is not None:
            connection.close_pool()  # type: ignore[attr-defined]  # Django 5.1's pool, not in django-stubs yet


def _outcome_fields(outcome: PostOutcome, now: datetime) -> dict[str, object]:
    task = outcome.task
    fields: dict[str, object] = {
        "lease_owner": "",
        "lease_expires_at": None,
        "updated_at": now,
        "pending_work": PendingWork.BATCH,
        "prompt_tokens": F("prompt_tokens") + outcome.prompt_tokens,
        "completion_tokens": F("completion_tokens") + outcome.completion_tokens,
        "cost_usd": F("cost_usd") + outcome.cost_usd,
    }
    if outcome.succeeded:
        fields.update(status=GenerationStatus.SUCCEEDED, error_message="", failure_reason="", generated_at=now)
        if task.needs_caption:
            fields.update(
                caption=outcome.caption,
                hashtags=outcome.hashtags,
                headline=outcome.headline,
                image_prompt=outcome.image_prompt,
            )
        if outcome.image_name:
            fields.update(image=outcome.image_name, thumbnail=outcome.thumbnail_name)
    elif task.counts_toward_batch or not task.caption:
        fields.update(
            status=GenerationStatus.FAILED, error_message=outcome.error, failure_reason=outcome.failure_reason
        )
    else:
        # A failed regeneration keeps the post's earlier caption and image, still usable.
        fields.update(
            status=GenerationStatus.SUCCEEDED,
            error_message=f"Regeneration failed: {outcome.error}",
            failure_reason=outcome.failure_reason,
        )
    return fields


def save_outcomes(*, owner: str, outcomes: list[PostOutcome]) -> list[PostOutcome]:
    """Write finished posts and move their batches' counters, in one transaction.

    Returns the outcomes written. An outcome whose lease `owner` no longer holds is dropped
    (another worker took the post after the lease expired) and its new image deleted.
    """
    if not outcomes:
        return []
    now = timezone.now()
    written: list[PostOutcome] = []
    dropped: list[PostOutcome] = []
    totals: dict[int, Counter] = defaultdict(Counter)
    costs: dict[int, Decimal] = defaultdict(Decimal)
    with transaction.atomic():
        for outcome in outcomes:
            task = outcome.task
            updated = Post.objects.filter(
                pk=task.post_id, status=GenerationStatus.GENERATING, lease_owner=owner
            ).update(**_outcome_fields(outcome, now))
            if not updated:
                dropped.append(outcome)
                continue
            written.append(outcome)
            if task.batch_id is None:
                continue
            batch_totals = totals[task.batch_id]
            if task.counts_toward_batch:
                batch_totals["succeeded_count" if outcome.succeeded else "failed_count"] += 1
            batch_totals["prompt_tokens"] += outcome.prompt_tokens
            batch_totals["completion_tokens"] += outcome.completion_tokens
            batch_totals["image_count"] += outcome.images
            costs[task.batch_id] += outcome.cost_usd
        for batch_id, batch_totals in totals.items():
            changes = {name: F(name) + amount for name, amount in batch_totals.items() if amount}
            if costs[batch_id]:
                changes["cost_usd"] = F("cost_usd") + costs[batch_id]
            if changes:
                BatchJob.objects.filter(pk=batch_id).update(**changes)
        for batch_id in totals:
            enforce_cost_cap(batch_id)
            finalize_batch(batch_id)
        replaced = [
            name for o in written if o.image_name for name in (o.task.image_name, o.task.thumbnail_name) if name
        ]
        # A dropped result's image is deleted unless the post does refer to it (the write had
        # in fact committed before a lost connection made us try it again).
        abandoned = [
            name
            for o in dropped
            if o.image_name and not Post.objects.filter(pk=o.task.post_id, image=o.image_name).exists()
            for name in (o.image_name, o.thumbnail_name)
        ]
        transaction.on_commit(lambda: delete_stored_images(replaced + abandoned))
    if dropped:
        log.warning("dropped %d results whose lease had passed to another worker", len(dropped))
    return written


def enforce_cost_cap(batch_id: int) -> None:
    """Stop a batch whose cost reached its cap: its pending posts are canceled."""
    over_cap = BatchJob.objects.filter(
        pk=batch_id,
        status__in=ACTIVE_BATCH_STATUSES,
        cost_cap_usd__isnull=False,
        cost_usd__gte=F("cost_cap_usd"),
    ).values_list("cost_cap_usd", flat=True)
    cap = next(iter(over_cap), None)
    if cap is None:
        return
    reason = f"Stopped: the batch reached its cost cap of ${cap}."
    canceled = Post.objects.filter(
        batch_id=batch_id, status=GenerationStatus.PENDING, pending_work=PendingWork.BATCH
    ).update(status=GenerationStatus.CANCELED, error_message=reason, updated_at=timezone.now())
    BatchJob.objects.filter(pk=batch_id).update(canceled_count=F("canceled_count") + canceled, error_summary=reason)


def finalize_batch(batch_id: int) -> bool:
    """Set the batch's final status if all its posts are done. True only for the one caller that did it."""
    now = timezone.now()
    finished = (
        BatchJob.objects.filter(pk=batch_id, status__in=ACTIVE_BATCH_STATUSES)
        .filter(requested_count__lte=F("succeeded_count") + F("failed_count") + F("canceled_count"))
        .update(
            status=Case(
                When(succeeded_count=F("requested_count"), then=Value(BatchStatus.SUCCEEDED)),
                When(succeeded_count=0, then=Value(BatchStatus.FAILED)),
                default=Value(BatchStatus.PARTIALLY_FAILED),
                output_field=models.CharField(),
            ),
            finished_at=now,
            started_at=Case(When(started_at__isnull=True, then=Value(now)), default=F("started_at")),
        )
    )
    if finished:
        # In the transaction that ended it: the webhook deliveries commit with the final status.
        domain_port.batch_ended(batch_id)
        summary = failure_summary(batch_id)
        if summary:
            BatchJob.objects.filter(pk=batch_id).update(
                error_summary=Case(
                    When(error_summary="", then=Value(summary)),
                    default=F("error_summary"),
                    output_field=models.TextField(),
                )
            )
    return bool(finished)


def failure_summary(batch_id: int) -> str:
    """'3 failed: Timed out (2); Content policy (1)', from one grouped query on the reason codes.
    Marketers read it: the provider's own words stay out."""
    rows = list(
        Post.objects.filter(batch_id=batch_id, status=GenerationStatus.FAILED)
        .values_list("failure_reason")
        .annotate(n=Count("id"))
        .order_by("-n", "failure_reason")
    )
    if not rows:
        return ""
    total = sum(n for _, n in rows)
    return f"{total} failed: " + "; ".join(f"{failure_label(code)} ({n})" for code, n in rows)
