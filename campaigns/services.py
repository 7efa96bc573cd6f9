"""Writes of the campaigns domain. Views, admin actions and commands all call these.

Functions are named <entity>_<action>, take keyword arguments, and validate their input
themselves: they raise ValidationError with a message fit to show a user, and write
nothing when they do. The rules they check are the check_* functions below, which forms
call too, so a page, the admin and a command refuse the same input with the same words.

Services that act for someone take `actor`: the signed-in user, checked with
campaigns.access.require (member of the campaign's workspace, with a role that allows the
action) before anything is read for writing. actor=None is for callers that act for nobody in
particular and have checked their own rights: the admin (staff permissions), operators'
commands and the engine. It has no default, so every caller says which it is. Services that
write the activity log also take `recorded_as`: who the log names when actor is None (the staff
member in the admin); it grants nothing.

Work is enqueued on commit with robust=True: the rows in PostgreSQL are the truth, so a
queue that cannot take the work (Redis away) is logged, not raised, and the workers'
recovery enqueues it once Redis is back.
"""

import contextlib
import hashlib
import json
import uuid
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from campaigns import budgets, export_jobs, quotas
from campaigns.access import check_allowed
from campaigns.activity import record, schedule_detail
from campaigns.exports import allow_export
from campaigns.models import (
    ACTIVE_BATCH_STATUSES,
    BRIEF_FIELDS,
    ECONOMY_LEASE,
    MAX_BATCH_SIZE,
    PLATFORM_VALUES,
    ActivityVerb,
    BatchJob,
    BatchMode,
    BatchPhase,
    BatchStatus,
    Campaign,
    Export,
    GenerationScope,
    GenerationStatus,
    Post,
    Profile,
    ProviderBatch,
    ReviewStatus,
    Workspace,
    economy_lease_owner,
    validate_time_zone,
)
from campaigns.platforms import full_length, normalize_hashtags, rules_for
from campaigns.roles import Action
from generation import dispatch
from webhooks import events


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
    batches, for captions; the workers' recovery loop submits it (generation.economy). An economy
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
        held = {
            "status": GenerationStatus.GENERATING,
            "lease_owner": economy_lease_owner(batch.pk),
            "lease_expires_at": timezone.now() + ECONOMY_LEASE,
            "attempts": 1,
        }
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
            ProviderBatch.objects.create(
                batch=batch,
                phase=BatchPhase.CAPTIONS,
                post_ids=sorted(Post.objects.filter(batch=batch).values_list("id", flat=True)),
                submission_key=uuid.uuid4().hex,
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
            cancelable |= Q(status=GenerationStatus.GENERATING, lease_owner=economy_lease_owner(locked.pk))
            ProviderBatch.objects.filter(batch=locked, done=False).update(next_poll_at=now)
        canceled = Post.objects.filter(cancelable, batch=locked, scope=GenerationScope.BATCH).update(
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
        events.batch_ended(locked.pk)
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
        retried = Post.objects.filter(batch=locked, status=GenerationStatus.FAILED, scope=GenerationScope.BATCH).update(
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
        _delete_with_image_files(locked, Post.objects.filter(batch=locked))


def check_caption(*, platform: str, caption: str, hashtags: list[str]) -> tuple[str, list[str]]:
    """The caption and hashtags as post_update stores them, if the platform allows them.

    Raises ValidationError keyed by field ("caption", "hashtags"), with every refusal at once.
    """
    rules = rules_for(platform)
    caption = caption.strip()
    if not caption:
        raise ValidationError({"caption": "Write a caption: a post cannot be published without one."})
    tags = normalize_hashtags(hashtags, platform, cap=False)
    errors = {}
    if len(tags) > rules.max_hashtags:
        errors["hashtags"] = f"{rules.platform.label} allows at most {rules.max_hashtags} hashtags."
    length = full_length(caption, tags)
    if length > rules.caption_limit:
        errors["caption"] = (
            f"The post is {length:,} characters with hashtags; {rules.platform.label} allows {rules.caption_limit:,}."
        )
    if errors:
        raise ValidationError(errors)
    return caption, tags


def post_update(
    *, post: Post, caption: str, hashtags: list[str], actor: User | None, recorded_as: User | None = None
) -> Post:
    """Save an edit of a caption and its hashtags, enforcing the platform's limits."""
    check_allowed(actor, post.campaign.workspace, Action.EDIT_POST)
    if post.is_busy:
        raise ValidationError("This post is being generated; edit it when it is ready.")
    post.caption, post.hashtags = check_caption(platform=post.platform, caption=caption, hashtags=hashtags)
    fields = ["caption", "hashtags", "updated_at"]
    if post.campaign.workspace.approval_required and post.review_status == ReviewStatus.APPROVED:
        # Approved means a reviewer approved these words: changed words need approving (and scheduling) again.
        post.review_status, post.scheduled_at = ReviewStatus.DRAFT, None
        fields += ["review_status", "scheduled_at"]
    with transaction.atomic():
        post.save(update_fields=fields)
        record(ActivityVerb.EDITED, actor=actor or recorded_as, post=post)
    return post


def check_review(*, post: Post, decision: str) -> None:
    if decision not in ReviewStatus.values:
        raise ValidationError("Choose approve, reject or back to draft.")
    if decision == ReviewStatus.APPROVED and post.status != GenerationStatus.SUCCEEDED:
        raise ValidationError("Only a finished post can be approved.")


REVIEW_VERBS = {
    ReviewStatus.APPROVED: ActivityVerb.APPROVED,
    ReviewStatus.REJECTED: ActivityVerb.REJECTED,
    ReviewStatus.DRAFT: ActivityVerb.RETURNED_TO_DRAFT,
}


def post_review(*, post: Post, decision: str, actor: User | None, recorded_as: User | None = None) -> Post:
    check_allowed(actor, post.campaign.workspace, Action.REVIEW)
    check_review(post=post, decision=decision)
    approving = decision == ReviewStatus.APPROVED and post.review_status != ReviewStatus.APPROVED
    post.review_status = decision
    fields = ["review_status", "updated_at"]
    if post.campaign.workspace.approval_required and decision != ReviewStatus.APPROVED and post.scheduled_at:
        post.scheduled_at = None  # only approved posts stay scheduled there
        fields.append("scheduled_at")
    with transaction.atomic():
        post.save(update_fields=fields)
        record(REVIEW_VERBS[ReviewStatus(decision)], actor=actor or recorded_as, post=post)
        if approving:
            events.post_approved(post)
    return post


def post_regenerate(*, post: Post, part: str, actor: User | None, recorded_as: User | None = None) -> Post:
    """Ask the engine to write the caption, the image, or both of one post again.

    Counts against the actor's REGENERATIONS_PER_MINUTE (campaigns.quotas).
    """
    check_allowed(actor, post.campaign.workspace, Action.REGENERATE)
    scopes = {"caption": GenerationScope.CAPTION, "image": GenerationScope.IMAGE, "both": GenerationScope.BOTH}
    if part not in scopes:
        raise ValidationError("Choose what to regenerate: caption, image or both.")
    # A regenerated post is a draft again; where approval is required it is unscheduled until approved again.
    unschedule = {"scheduled_at": None} if post.campaign.workspace.approval_required else {}
    with transaction.atomic():
        updated = (
            Post.objects.filter(pk=post.pk)
            .exclude(status__in=[GenerationStatus.PENDING, GenerationStatus.GENERATING])
            .update(
                status=GenerationStatus.PENDING,
                scope=scopes[part] if post.caption else GenerationScope.BOTH,
                review_status=ReviewStatus.DRAFT,
                error_message="",
                failure_reason="",
                updated_at=timezone.now(),
                **unschedule,
            )
        )
        if not updated:
            raise ValidationError("This post is already being generated.")
        quotas.take_regeneration(user=actor)  # a refusal rolls the update back
        record(ActivityVerb.REGENERATED, actor=actor or recorded_as, post=post, detail=part)
        transaction.on_commit(lambda: dispatch.enqueue_post_work(post.pk), robust=True)
    post.refresh_from_db()
    return post


# Scheduling a post a little in the past is a typo, not an intent: allow only clock skew.
SCHEDULE_PAST_TOLERANCE = timedelta(minutes=5)


def check_schedule_time(scheduled_at: datetime | None) -> None:
    if scheduled_at is not None and scheduled_at < timezone.now() - SCHEDULE_PAST_TOLERANCE:
        raise ValidationError("Pick a time in the future.", code="past")


def check_schedule(*, post: Post, scheduled_at: datetime | None) -> None:
    """None unschedules, always allowed; a time needs a finished post and the future."""
    if scheduled_at is None:
        return
    if post.status != GenerationStatus.SUCCEEDED:
        raise ValidationError("Only a finished post can be scheduled.")
    if post.campaign.workspace.approval_required and post.review_status != ReviewStatus.APPROVED:
        raise ValidationError("This workspace requires approval: a reviewer approves the post before it is scheduled.")
    check_schedule_time(scheduled_at)


def post_schedule(
    *, post: Post, scheduled_at: datetime | None, actor: User | None, recorded_as: User | None = None
) -> Post:
    check_allowed(actor, post.campaign.workspace, Action.SCHEDULE)
    check_schedule(post=post, scheduled_at=scheduled_at)
    post.scheduled_at = scheduled_at
    with transaction.atomic():
        post.save(update_fields=["scheduled_at", "updated_at"])
        if scheduled_at is None:
            record(ActivityVerb.UNSCHEDULED, actor=actor or recorded_as, post=post)
        else:
            record(ActivityVerb.SCHEDULED, actor=actor or recorded_as, post=post, detail=schedule_detail(scheduled_at))
    return post


def post_delete(*, post: Post, actor: User | None) -> None:
    check_allowed(actor, post.campaign.workspace, Action.DELETE_POST)
    if post.is_busy:
        raise ValidationError("This post is being generated; delete it when it is ready.")
    files = [f.name for f in (post.image, post.thumbnail) if f]
    storage = post.image.storage
    post.delete()
    if files:
        transaction.on_commit(lambda: delete_files(storage, files))


def delete_files(storage: Storage, names: list[str]) -> None:
    for name in names:
        # A file that is already gone is what we wanted.
        with contextlib.suppress(OSError):
            storage.delete(name)


def campaign_create(
    *, workspace: Workspace, owner: User, actor: User | None, recorded_as: User | None = None, **fields: Any
) -> Campaign:
    """Create a campaign in `workspace` from cleaned form data (CampaignForm.cleaned_data); `owner` is its creator."""
    check_allowed(actor, workspace, Action.EDIT_CAMPAIGN)
    campaign = Campaign(workspace=workspace, owner=owner, **fields)
    campaign.full_clean()
    with transaction.atomic():
        campaign.save()
        record(ActivityVerb.CREATED, actor=actor or recorded_as or owner, campaign=campaign)
    return campaign


def campaign_update(
    *, campaign: Campaign, actor: User | None, recorded_as: User | None = None, **fields: Any
) -> Campaign:
    """Save an edit of a campaign's brief and settings; the activity log says which fields changed."""
    check_allowed(actor, campaign.workspace, Action.EDIT_CAMPAIGN)
    for name, value in fields.items():
        setattr(campaign, name, value)
    campaign.full_clean()
    with transaction.atomic():
        # Compared with the stored row, not the instance: a ModelForm has already set its data on it.
        stored = Campaign.objects.select_for_update().get(pk=campaign.pk)
        changed = [
            field.name.replace("_", " ")
            for field in Campaign._meta.concrete_fields
            if field.name in fields and getattr(stored, field.attname) != getattr(campaign, field.attname)
        ]
        campaign.save()
        if changed:
            record(ActivityVerb.EDITED, actor=actor or recorded_as, campaign=campaign, detail=", ".join(changed))
    return campaign


# What a copy of a campaign takes over: its brief and settings, never its batches or posts.
DUPLICATED_FIELDS = (*BRIEF_FIELDS, "platforms", "start_date", "end_date")


def campaign_duplicate(*, campaign: Campaign, actor: User) -> Campaign:
    """A new campaign in the same workspace with `campaign`'s brief and no posts, made by `actor`
    and named "<name> (copy)" (or "(copy 2)", …): names are unique within a workspace."""
    base = f"{campaign.name[:110]} (copy"
    taken = {
        name.lower()
        for name in Campaign.objects.filter(workspace=campaign.workspace, name__istartswith=base).values_list(
            "name", flat=True
        )
    }
    number = 1
    name = f"{base})"
    while name.lower() in taken:
        number += 1
        name = f"{base} {number})"
    fields = {field: getattr(campaign, field) for field in DUPLICATED_FIELDS if field != "name"}
    return campaign_create(workspace=campaign.workspace, owner=actor, actor=actor, name=name, **fields)


def campaign_delete(*, campaign: Campaign, actor: User | None) -> None:
    """Delete a campaign with its batches, posts and their image files.

    Refused while a batch runs: its workers would be writing into posts that no longer exist.
    """
    check_allowed(actor, campaign.workspace, Action.EDIT_CAMPAIGN)
    with transaction.atomic():
        if campaign.batches.filter(status__in=ACTIVE_BATCH_STATUSES).exists():
            raise ValidationError("A batch of this campaign is still running; cancel it before deleting the campaign.")
        _delete_with_image_files(campaign, Post.objects.filter(campaign=campaign))


def _delete_with_image_files(row: Campaign | BatchJob, posts: QuerySet[Post]) -> None:
    """Delete the row (its posts go with it), then, once that commits, the posts' image files."""
    files = [name for pair in posts.values_list("image", "thumbnail") for name in pair if name]
    storage = Post._meta.get_field("image").storage
    row.delete()
    if files:
        transaction.on_commit(lambda: delete_files(storage, files))


@transaction.atomic
def campaigns_import(
    *, workspace: Workspace, owner: User, actor: User | None, campaigns: list[dict[str, Any]]
) -> list[Campaign]:
    """Create many campaigns at once in `workspace` from validated data; all or none."""
    check_allowed(actor, workspace, Action.EDIT_CAMPAIGN)
    created = [Campaign(workspace=workspace, owner=owner, **fields) for fields in campaigns]
    for campaign in created:
        campaign.full_clean(validate_unique=False, validate_constraints=False)
    return Campaign.objects.bulk_create(created)


def export_zip_start(
    *,
    campaign: Campaign,
    actor: User | None,
    requested_by: User | None = None,
    filters: dict[str, Any] | None = None,
    download_name: str,
) -> Export:
    """Record a ZIP export of the campaign's posts (filtered as on screen) and queue it for a worker.

    `actor` is checked like every service's (None: staff in the admin), and counted against their
    export limit before anything is queued; `requested_by` is recorded.
    """
    allow_export(campaign=campaign, actor=actor)
    requested_by = requested_by or actor
    filters = filters or {}
    with transaction.atomic():
        export = Export.objects.create(
            campaign=campaign, requested_by=requested_by, filters=filters, download_name=download_name
        )
        transaction.on_commit(lambda: export_jobs.enqueue_export(export.pk), robust=True)
    return export


def profile_set_time_zone(*, user: User, time_zone: str) -> Profile:
    """The person's time zone, which pages, scheduling and the calendar use (empty: the site's default)."""
    time_zone = time_zone.strip()
    validate_time_zone(time_zone)
    profile, _created = Profile.objects.update_or_create(user=user, defaults={"time_zone": time_zone})
    return profile


def profile_adopt_browser_time_zone(*, user: User, time_zone: str) -> bool:
    """At sign-in: take the zone the browser reported if the person has none yet. Returns whether it did.

    A zone the person chose is never overwritten, and a value that is no known zone is ignored
    (it comes from the browser, not from a form anyone sees).
    """
    time_zone = time_zone.strip()
    try:
        validate_time_zone(time_zone)
    except ValidationError:
        return False
    if not time_zone:
        return False
    profile, created = Profile.objects.get_or_create(user=user, defaults={"time_zone": time_zone})
    if created:
        return True
    return bool(Profile.objects.filter(pk=profile.pk, time_zone="").update(time_zone=time_zone))
