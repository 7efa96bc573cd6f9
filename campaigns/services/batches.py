"""Batches: estimate, start (once per Idempotency-Key), cost cap, cancel, retry, delete."""

import hashlib
import json
from datetime import timedelta
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from campaigns import budgets, quotas, signals
from campaigns.models import (
    ACTIVE_BATCH_STATUSES,
    MAX_BATCH_SIZE,
    PLATFORM_VALUES,
    ActivityVerb,
    BatchJob,
    BatchMode,
    BatchStatus,
    Campaign,
    GenerationStatus,
    PendingWork,
    Post,
)
from campaigns.services.activity import record
from campaigns.services.posts import delete_with_image_files
from generation import dispatch
from workspaces.access import check_allowed
from workspaces.models import Workspace
from workspaces.roles import Action


def check_count(count: object) -> int:
    if isinstance(count, bool) or not isinstance(count, int):
        raise ValidationError(f"The number of posts must be a whole number from 1 to {MAX_BATCH_SIZE}.")
    if not 1 <= count <= MAX_BATCH_SIZE:
        raise ValidationError(f"The number of posts must be from 1 to {MAX_BATCH_SIZE}; got {count}.")
    return count


def _validate_platforms(campaign: Campaign, platforms: list[str] | None) -> list[str]:
    chosen = list(platforms) if platforms else list(campaign.platforms)
    unknown = [p for p in chosen if p not in PLATFORM_VALUES]
    if unknown:
        raise ValidationError(f"Unknown platform {', '.join(unknown)}; choose from {', '.join(PLATFORM_VALUES)}.")
    if not chosen:
        raise ValidationError("Choose at least one platform.")
    # Platform table order, no duplicates.
    return [p for p in PLATFORM_VALUES if p in chosen]


# BatchJob.cost_cap_usd holds dollars and cents, below ten billion.
_MAX_COST_CAP = Decimal("9999999999.99")


def check_cost_cap(cost_cap_usd: object) -> Decimal | None:
    if cost_cap_usd is None:
        return None
    try:
        cap = Decimal(str(cost_cap_usd))
    except ArithmeticError:  # decimal.InvalidOperation: not a number at all
        cap = None
    if cap is None or not cap.is_finite() or not Decimal("0.01") <= cap <= _MAX_COST_CAP:
        raise ValidationError(f"The cost cap must be an amount in dollars from $0.01 to ${_MAX_COST_CAP:,}.")
    if cap != cap.quantize(Decimal("0.01")):
        raise ValidationError("The cost cap is in dollars and cents: use at most two decimals.")
    return cap


def check_batch_cost_cap(cost_cap_usd: object, *, user: User | None) -> Decimal | None:
    """The cap a new batch gets: the one asked for, else GENERATION_DEFAULT_COST_CAP_USD.

    A marketer may lower the default, never raise it; staff and the shell (no user) may.
    """
    cap = check_cost_cap(cost_cap_usd)
    default: Decimal | None = settings.GENERATION_DEFAULT_COST_CAP_USD
    if cap is None:
        return default
    if default is not None and cap > default and quotas.applies_to(user):
        raise ValidationError(f"The cost cap can be at most ${default:,.2f}; staff can start a batch with more.")
    return cap


def batch_estimate(*, count: int, economy: bool = False) -> Decimal:
    """What a batch of `count` posts is expected to cost in USD, rounded up to the cent."""
    per_post = dispatch.post_cost_estimate(economy=economy)
    return (per_post * check_count(count)).quantize(Decimal("0.01"), rounding=ROUND_UP)


def check_mode(mode: object, *, cost_cap_usd: Decimal | None = None) -> str:
    """A batch mode the configured provider can run; economy refuses a cost cap, which it could not keep."""
    if mode not in BatchMode.values:
        raise ValidationError(f"Choose the mode: {' or '.join(BatchMode.values)}.")
    if mode == BatchMode.ECONOMY:
        refusal = dispatch.economy_refusal()
        if refusal:
            raise ValidationError(refusal)
        if cost_cap_usd is not None:
            raise ValidationError(
                "An economy batch takes no cost cap: its cost is known only when the provider's batch ends."
            )
    return str(mode)


def _check_spending(
    *, workspace: Workspace, requested_by: User | None, count: int, economy: bool, most: Decimal | None
) -> budgets.MonthlyBudget | None:
    """Refuse `count` posts that `requested_by`'s limits or `workspace`'s budget have no room for.

    The posts are weighed at their estimate (the Batch API's prices for economy), or at `most` when
    a cost cap keeps them below it. Call it inside the transaction that commits the posts: both
    checks lock a row (the user's, the workspace's) until it ends.
    """
    quotas.check_batch_limits(user=requested_by, count=count)
    estimate = batch_estimate(count=count, economy=economy)
    return budgets.check_budget(
        workspace=workspace,
        estimate=min(estimate, most) if most is not None else estimate,
        post_cost=dispatch.post_cost_estimate(economy=economy),
    )


def lock_campaign(campaign: Campaign) -> None:
    """Lock the campaign's row until the transaction ends, or refuse if it is gone: campaign_delete
    locks it too, so a batch started while its campaign is deleted either commits first (and the
    delete is refused while it runs) or waits and is refused here."""
    if not Campaign.objects.select_for_update().filter(pk=campaign.pk).exists():
        raise ValidationError("This campaign has been deleted: it can start no batch.", code="gone")


def batch_start(
    *,
    campaign: Campaign,
    count: int,
    actor: User | None,
    platforms: list[str] | None = None,
    requested_by: User | None = None,
    cost_cap_usd: Decimal | None = None,
    mode: str = BatchMode.STANDARD,
    enqueue: bool = True,
    idempotency: tuple[str, str] = ("", ""),
) -> BatchJob:
    """Create a batch and its `count` posts in one transaction; enqueue the work on commit.

    Posts are spread over the platforms in turn. The batch is recorded as requested by
    `requested_by`, the actor by default. With enqueue=False nothing is put on the queue
    (generate_posts --sync runs the batch in-process instead).

    What it may spend: the default cost cap unless a lower one is asked for (check_batch_cost_cap),
    and never more than is left of the workspace's monthly budget; a batch expected to cost more
    than that is refused (campaigns.budgets), as is one `requested_by`'s limits have no room for
    (campaigns.quotas).

    A standard batch's posts are pending, for the chunk jobs. An economy batch's posts are leased
    to the batch itself (the chunk jobs leave them alone) along with the first of its provider
    batches, for captions; the clock's economy polls submit it (generation.economy). An economy
    batch takes no cost cap (its cost is known only when the provider's batch ends), but its
    estimate, at the Batch API's prices, is weighed against the budget all the same.
    """
    check_allowed(actor, campaign.workspace, Action.START_BATCH)
    requested_by = requested_by or actor
    count = check_count(count)
    platforms = _validate_platforms(campaign, platforms)
    mode = check_mode(mode, cost_cap_usd=check_cost_cap(cost_cap_usd))
    economy = mode == BatchMode.ECONOMY
    cost_cap_usd = None if economy else check_batch_cost_cap(cost_cap_usd, user=requested_by)
    provider, text_model, image_model = dispatch.engine_models()
    with transaction.atomic():
        lock_campaign(campaign)
        budget = _check_spending(
            workspace=campaign.workspace, requested_by=requested_by, count=count, economy=economy, most=cost_cap_usd
        )
        if budget is not None and budget.left >= Decimal("0.01") and not economy:
            left = budget.left.quantize(Decimal("0.01"), rounding=ROUND_DOWN)
            cost_cap_usd = min(cost_cap_usd, left) if cost_cap_usd is not None else left
        batch = BatchJob.objects.create(
            campaign=campaign,
            requested_by=requested_by,
            requested_count=count,
            platforms=platforms,
            mode=mode,
            provider=provider,
            text_model=text_model,
            image_model=image_model,
            cost_cap_usd=cost_cap_usd,
            idempotency_key=idempotency[0],
            idempotency_fingerprint=idempotency[1],
        )
        record(ActivityVerb.CREATED, actor=actor or requested_by, batch=batch, detail=f"{count} posts")
        held = {"status": GenerationStatus.GENERATING, "attempts": 1, **dispatch.economy_lease(batch.pk)}
        # Inserted last position first: pages list posts newest first, so the batch reads in
        # position order, the order the engine generates them in, and arrivals fill from the top.
        Post.objects.bulk_create(
            [
                Post(
                    campaign=campaign,
                    batch=batch,
                    sequence=index,
                    platform=platforms[index % len(platforms)],
                    **(held if economy else {}),
                )
                for index in reversed(range(count))
            ],
            batch_size=500,
        )
        if economy:
            dispatch.economy_batch_prepare(
                batch.pk, sorted(Post.objects.filter(batch=batch).values_list("id", flat=True))
            )
        elif enqueue:
            transaction.on_commit(lambda: dispatch.enqueue_batch(batch.pk, count), robust=True)
    return batch


class IdempotencyConflict(Exception):
    """An Idempotency-Key already used for a different request."""


def _batch_fingerprint(
    *, campaign: Campaign, count: int, platforms: list[str] | None, cost_cap_usd: Decimal | None
) -> str:
    asked = {
        "campaign": campaign.pk,
        "count": count,
        "platforms": sorted(platforms) if platforms else None,
        "cost_cap_usd": None if cost_cap_usd is None else str(Decimal(str(cost_cap_usd)).normalize()),
    }
    return hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()


def batch_start_once(
    *,
    idempotency_key: str,
    campaign: Campaign,
    count: int,
    actor: User,
    platforms: list[str] | None = None,
    cost_cap_usd: Decimal | None = None,
) -> tuple[BatchJob, bool]:
    """batch_start, once per (requester, key) within API_IDEMPOTENCY_HOURS: (the batch, whether it already existed).

    The same key with the same request returns the first batch; with a different request it
    raises IdempotencyConflict. Two requests racing with one key both end on the one batch: the
    unique constraint on (requested_by, idempotency_key) lets one insert win, the other reads it.
    A key older than the window starts a new batch, whatever was asked with it before.
    """
    check_allowed(actor, campaign.workspace, Action.START_BATCH)
    fingerprint = _batch_fingerprint(campaign=campaign, count=count, platforms=platforms, cost_cap_usd=cost_cap_usd)
    keyed = BatchJob.objects.filter(requested_by=actor, idempotency_key=idempotency_key)
    since = timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)

    def existing() -> BatchJob | None:
        batch = keyed.filter(created_at__gte=since).first()
        if batch is not None and batch.idempotency_fingerprint != fingerprint:
            raise IdempotencyConflict(
                f"The Idempotency-Key {idempotency_key!r} was used for a different request (batch #{batch.pk})."
            )
        return batch

    batch = existing()
    if batch is not None:
        return batch, True
    try:
        with transaction.atomic():
            # An expired key's batch lets go of it, with this insert: the unique constraint holds
            # one batch per key, and a refused start leaves the old batch its key.
            keyed.filter(created_at__lt=since).update(idempotency_key="", idempotency_fingerprint="")
            batch = batch_start(
                campaign=campaign,
                count=count,
                platforms=platforms,
                actor=actor,
                cost_cap_usd=cost_cap_usd,
                idempotency=(idempotency_key, fingerprint),
            )
    except IntegrityError:
        batch = existing()
        if batch is None:
            raise
        return batch, True
    return batch, False


def batch_set_cost_cap(*, batch: BatchJob, cost_cap_usd: Decimal | None, actor: User | None) -> BatchJob:
    """Change (or remove, with None) the cost cap of a batch, running or not.

    One UPDATE of that column alone: workers move the batch's counters meanwhile, and
    saving the whole row would write back the counters as they were when it was read.
    """
    check_allowed(actor, batch.campaign.workspace, Action.START_BATCH)
    cost_cap_usd = check_cost_cap(cost_cap_usd)
    BatchJob.objects.filter(pk=batch.pk).update(cost_cap_usd=cost_cap_usd)
    batch.refresh_from_db()
    return batch


def batch_cancel(*, batch: BatchJob, actor: User | None, recorded_as: User | None = None) -> int:
    """Cancel a running or queued batch: its pending posts are canceled, posts in flight finish.

    An economy batch's posts still at the provider are canceled too, and the workers' next
    poll cancels its provider batch (generation.economy). Returns the number of posts canceled.
    """
    check_allowed(actor, batch.campaign.workspace, Action.CANCEL_BATCH)
    with transaction.atomic():
        locked = BatchJob.objects.select_for_update().get(pk=batch.pk)
        if locked.status not in ACTIVE_BATCH_STATUSES:
            raise ValidationError(f"Batch #{batch.pk} has already ended ({locked.get_status_display().lower()}).")
        now = timezone.now()
        cancelable = Q(status=GenerationStatus.PENDING)
        if locked.is_economy:
            cancelable |= Q(
                status=GenerationStatus.GENERATING, lease_owner=dispatch.economy_lease(locked.pk)["lease_owner"]
            )
            dispatch.economy_batch_poll_now(locked.pk)
        canceled = Post.objects.filter(cancelable, batch=locked, pending_work=PendingWork.BATCH).update(
            status=GenerationStatus.CANCELED,
            error_message="Canceled.",
            lease_owner="",
            lease_expires_at=None,
            updated_at=now,
        )
        BatchJob.objects.filter(pk=locked.pk).update(
            status=BatchStatus.CANCELED,
            canceled_count=F("canceled_count") + canceled,
            finished_at=now,
        )
        record(
            ActivityVerb.CANCELED, actor=actor or recorded_as, batch=locked, detail=f"{canceled} posts not generated"
        )
        signals.batch_ended.send(sender=BatchJob, batch_id=locked.pk)
    batch.refresh_from_db()
    return canceled


def batch_retry_failed(*, batch: BatchJob, actor: User | None, recorded_as: User | None = None) -> int:
    """Put a finished batch's failed posts back in the queue. Returns how many.

    Retried posts spend as new ones do, so they are weighed like a new batch of that many posts
    (what batch_start checks): the actor's limits and the workspace's budget, at the standard prices
    (retried posts take the live path, an economy batch's too), and no more than what its cost cap
    has left. A refusal changes nothing.
    """
    check_allowed(actor, batch.campaign.workspace, Action.START_BATCH)
    with transaction.atomic():
        locked = BatchJob.objects.select_for_update().get(pk=batch.pk)
        if locked.status in ACTIVE_BATCH_STATUSES:
            raise ValidationError(f"Batch #{batch.pk} is still running; retry its failed posts when it ends.")
        retried = Post.objects.filter(
            batch=locked, status=GenerationStatus.FAILED, pending_work=PendingWork.BATCH
        ).update(
            status=GenerationStatus.PENDING,
            error_message="",
            failure_reason="",
            lease_owner="",
            lease_expires_at=None,
            updated_at=timezone.now(),
        )
        if not retried:
            raise ValidationError(f"Batch #{batch.pk} has no failed posts to retry.")
        cap_left = None if locked.cost_cap_usd is None else max(locked.cost_cap_usd - locked.cost_usd, Decimal("0"))
        # A refusal raises inside this transaction: the posts' update above is rolled back with it.
        # Retried posts go through the live path (the chunk jobs), an economy batch's too: standard prices.
        _check_spending(
            workspace=batch.campaign.workspace, requested_by=actor, count=retried, economy=False, most=cap_left
        )
        BatchJob.objects.filter(pk=locked.pk).update(
            status=BatchStatus.RUNNING,
            failed_count=F("failed_count") - retried,
            finished_at=None,
            error_summary="",
        )
        record(
            ActivityVerb.RETRIED,
            actor=actor or recorded_as,
            batch=locked,
            detail=f"{retried} posts",
            queued_posts=retried,
        )
        transaction.on_commit(lambda: dispatch.enqueue_batch(locked.pk, retried, reason="retry"), robust=True)
    batch.refresh_from_db()
    return retried


def batch_delete(*, batch: BatchJob, actor: User | None) -> None:
    """Delete a batch with its posts and their image files; refused while it runs, as campaign_delete is."""
    check_allowed(actor, batch.campaign.workspace, Action.DELETE_POST)
    with transaction.atomic():
        locked = BatchJob.objects.select_for_update().get(pk=batch.pk)
        if locked.status in ACTIVE_BATCH_STATUSES:
            raise ValidationError(f"Batch #{batch.pk} is still running; cancel it before deleting it.")
        delete_with_image_files(locked, Post.objects.filter(batch=locked))
