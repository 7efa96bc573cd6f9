"""Writes of the campaigns domain. Views, admin actions and commands all call these.

Functions are named <entity>_<action>, take keyword arguments, and validate their input
themselves: they raise ValidationError with a message fit to show a user, and write
nothing when they do. The rules they check are the check_* functions below, which forms
call too, so a page, the admin and a command refuse the same input with the same words.

Work is enqueued on commit with robust=True: the rows in PostgreSQL are the truth, so a
queue that cannot take the work (Redis away) is logged, not raised, and the workers'
recovery enqueues it once Redis is back.
"""

import contextlib
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from campaigns.models import (
    ACTIVE_BATCH_STATUSES,
    BRIEF_FIELDS,
    ECONOMY_LEASE,
    MAX_BATCH_SIZE,
    PLATFORM_VALUES,
    BatchJob,
    BatchMode,
    BatchPhase,
    BatchStatus,
    Campaign,
    GenerationScope,
    GenerationStatus,
    Post,
    Profile,
    ProviderBatch,
    ReviewStatus,
    economy_lease_owner,
    validate_time_zone,
)
from campaigns.platforms import full_length, normalize_hashtags, rules_for
from generation import dispatch


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


def batch_start(
    *,
    campaign: Campaign,
    count: int,
    platforms: list[str] | None = None,
    requested_by: User | None = None,
    cost_cap_usd: Decimal | None = None,
    mode: str = BatchMode.STANDARD,
    enqueue: bool = True,
) -> BatchJob:
    """Create a batch and its `count` posts in one transaction; enqueue the work on commit.

    Posts are spread over the platforms in turn. With enqueue=False nothing is put on the
    queue (generate_posts --sync runs the batch in-process instead).

    A standard batch's posts are pending, for the chunk jobs. An economy batch's posts are leased
    to the batch itself (the chunk jobs leave them alone) along with the first of its provider
    batches, for captions; the workers' recovery loop submits it (generation.economy).
    """
    count = check_count(count)
    platforms = _validate_platforms(campaign, platforms)
    cost_cap_usd = check_cost_cap(cost_cap_usd)
    mode = check_mode(mode, cost_cap_usd=cost_cap_usd)
    provider, text_model, image_model = dispatch.engine_models()
    with transaction.atomic():
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
        )
        economy = mode == BatchMode.ECONOMY
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


def batch_set_cost_cap(*, batch: BatchJob, cost_cap_usd: Decimal | None) -> BatchJob:
    """Change (or remove, with None) the cost cap of a batch, running or not.

    One UPDATE of that column alone: workers move the batch's counters meanwhile, and
    saving the whole row would write back the counters as they were when it was read.
    """
    cost_cap_usd = check_cost_cap(cost_cap_usd)
    BatchJob.objects.filter(pk=batch.pk).update(cost_cap_usd=cost_cap_usd)
    batch.refresh_from_db()
    return batch


def batch_cancel(*, batch: BatchJob) -> int:
    """Cancel a running or queued batch: its pending posts are canceled, posts in flight finish.

    An economy batch's posts still at the provider are canceled too, and the workers' next
    poll cancels its provider batch (generation.economy). Returns the number of posts canceled.
    """
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
    batch.refresh_from_db()
    return canceled


def batch_retry_failed(*, batch: BatchJob) -> int:
    """Put a finished batch's failed posts back in the queue. Returns how many."""
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
        BatchJob.objects.filter(pk=locked.pk).update(
            status=BatchStatus.RUNNING,
            failed_count=F("failed_count") - retried,
            finished_at=None,
            error_summary="",
        )
        transaction.on_commit(lambda: dispatch.enqueue_batch(locked.pk, retried, reason="retry"), robust=True)
    batch.refresh_from_db()
    return retried


def batch_delete(*, batch: BatchJob) -> None:
    """Delete a batch with its posts and their image files; refused while it runs, as campaign_delete is."""
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


def post_update(*, post: Post, caption: str, hashtags: list[str]) -> Post:
    """Save an edit of a caption and its hashtags, enforcing the platform's limits."""
    if post.is_busy:
        raise ValidationError("This post is being generated; edit it when it is ready.")
    post.caption, post.hashtags = check_caption(platform=post.platform, caption=caption, hashtags=hashtags)
    post.save(update_fields=["caption", "hashtags", "updated_at"])
    return post


def check_review(*, post: Post, decision: str) -> None:
    if decision not in ReviewStatus.values:
        raise ValidationError("Choose approve, reject or back to draft.")
    if decision == ReviewStatus.APPROVED and post.status != GenerationStatus.SUCCEEDED:
        raise ValidationError("Only a finished post can be approved.")


def post_review(*, post: Post, decision: str) -> Post:
    check_review(post=post, decision=decision)
    post.review_status = decision
    post.save(update_fields=["review_status", "updated_at"])
    return post


def post_regenerate(*, post: Post, part: str) -> Post:
    """Ask the engine to write the caption, the image, or both of one post again."""
    scopes = {"caption": GenerationScope.CAPTION, "image": GenerationScope.IMAGE, "both": GenerationScope.BOTH}
    if part not in scopes:
        raise ValidationError("Choose what to regenerate: caption, image or both.")
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
            )
        )
        if not updated:
            raise ValidationError("This post is already being generated.")
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
    check_schedule_time(scheduled_at)


def post_schedule(*, post: Post, scheduled_at: datetime | None) -> Post:
    check_schedule(post=post, scheduled_at=scheduled_at)
    post.scheduled_at = scheduled_at
    post.save(update_fields=["scheduled_at", "updated_at"])
    return post


def post_delete(*, post: Post) -> None:
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


def campaign_create(*, owner: User, **fields: Any) -> Campaign:
    """Create a campaign from cleaned form data (CampaignForm.cleaned_data)."""
    campaign = Campaign(owner=owner, **fields)
    campaign.full_clean()
    campaign.save()
    return campaign


def campaign_update(*, campaign: Campaign, **fields: Any) -> Campaign:
    for name, value in fields.items():
        setattr(campaign, name, value)
    campaign.full_clean()
    campaign.save()
    return campaign


# What a copy of a campaign takes over: its brief and settings, never its batches or posts.
DUPLICATED_FIELDS = (*BRIEF_FIELDS, "platforms", "start_date", "end_date")


def campaign_duplicate(*, campaign: Campaign, owner: User) -> Campaign:
    """A new campaign with `campaign`'s brief and no posts, named "<name> (copy)" (or "(copy 2)", …)."""
    base = f"{campaign.name[:110]} (copy"
    taken = {
        name.lower()
        for name in Campaign.objects.filter(owner=owner, name__istartswith=base).values_list("name", flat=True)
    }
    number = 1
    name = f"{base})"
    while name.lower() in taken:
        number += 1
        name = f"{base} {number})"
    fields = {field: getattr(campaign, field) for field in DUPLICATED_FIELDS if field != "name"}
    return campaign_create(owner=owner, name=name, **fields)


def campaign_delete(*, campaign: Campaign) -> None:
    """Delete a campaign with its batches, posts and their image files.

    Refused while a batch runs: its workers would be writing into posts that no longer exist.
    """
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
def campaigns_import(*, owner: User, campaigns: list[dict[str, Any]]) -> list[Campaign]:
    """Create many campaigns at once from validated data; all or none."""
    created = [Campaign(owner=owner, **fields) for fields in campaigns]
    for campaign in created:
        campaign.full_clean(validate_unique=False, validate_constraints=False)
    return Campaign.objects.bulk_create(created)


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
