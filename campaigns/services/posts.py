"""One post: edit its caption, review, regenerate, schedule, delete."""

import contextlib
from datetime import datetime, timedelta
from decimal import ROUND_UP, Decimal

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from campaigns import budgets, quotas, signals
from campaigns.models import (
    ACTIVE_BATCH_STATUSES,
    ActivityVerb,
    BatchJob,
    Campaign,
    GenerationStatus,
    PendingWork,
    Post,
    ReviewStatus,
)
from campaigns.services.activity import record, schedule_detail
from generation import dispatch
from shared.platforms import full_length, normalize_hashtags, rules_for
from workspaces.access import check_allowed
from workspaces.roles import Action


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
            signals.posts_approved.send(sender=Post, workspace_id=post.campaign.workspace_id, posts=[post])
    return post


def _check_regeneration_spending(post: Post) -> None:
    """Refuse a regeneration that the workspace's budget, or its running batch's cost cap, has no room for.

    A regeneration spends as a new post does (through the live path, at the standard prices), and
    its cost counts toward its batch: it is weighed like a one-post batch against the workspace's
    monthly budget (the check batch_start makes, with the same words), and, while its batch still
    runs, against what that batch's cost cap has left. Call it inside the transaction that queues
    the post: the budget's check locks the workspace's row until it ends, the cap's the batch's.
    """
    post_cost = dispatch.post_cost_estimate()
    estimate = post_cost.quantize(Decimal("0.01"), rounding=ROUND_UP)
    budgets.check_budget(workspace=post.campaign.workspace, estimate=estimate, post_cost=post_cost)
    if post.batch_id is None:
        return
    batch = BatchJob.objects.select_for_update().only("pk", "status", "cost_cap_usd", "cost_usd").get(pk=post.batch_id)
    if batch.status not in ACTIVE_BATCH_STATUSES or batch.cost_cap_usd is None:
        return
    left = max(batch.cost_cap_usd - batch.cost_usd, Decimal("0"))
    if estimate > left:
        raise ValidationError(
            f"This regeneration would cost about ${estimate:,.2f}: more than is left of batch #{batch.pk}'s "
            f"${batch.cost_cap_usd:,.2f} cost cap (${batch.cost_usd:,.2f} spent, ${left:,.2f} left). "
            "Regenerate when the batch has ended, or raise its cost cap.",
            code="over_cost_cap",
        )


def post_regenerate(*, post: Post, part: str, actor: User | None, recorded_as: User | None = None) -> Post:
    """Ask the engine to write the caption, the image, or both of one post again.

    Counts against the actor's REGENERATIONS_PER_MINUTE (campaigns.quotas), and is weighed like a
    one-post batch against the workspace's budget and its running batch's cost cap (a refusal
    changes nothing).
    """
    check_allowed(actor, post.campaign.workspace, Action.REGENERATE)
    work = {"caption": PendingWork.CAPTION, "image": PendingWork.IMAGE, "both": PendingWork.BOTH}
    if part not in work:
        raise ValidationError("Choose what to regenerate: caption, image or both.")
    # A regenerated post is a draft again; where approval is required it is unscheduled until approved again.
    unschedule = {"scheduled_at": None} if post.campaign.workspace.approval_required else {}
    with transaction.atomic():
        updated = (
            Post.objects.filter(pk=post.pk)
            .exclude(status__in=[GenerationStatus.PENDING, GenerationStatus.GENERATING])
            .update(
                status=GenerationStatus.PENDING,
                pending_work=work[part] if post.caption else PendingWork.BOTH,
                review_status=ReviewStatus.DRAFT,
                error_message="",
                failure_reason="",
                updated_at=timezone.now(),
                **unschedule,
            )
        )
        if not updated:
            raise ValidationError("This post is already being generated.")
        # A refusal of its cost rolls the update back, before the actor's quota is counted; so does the quota's.
        _check_regeneration_spending(post)
        quotas.take_regeneration(user=actor)
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


def delete_with_image_files(row: Campaign | BatchJob, posts: QuerySet[Post]) -> None:
    """Delete the row (its posts go with it), then, once that commits, the posts' image files."""
    files = [name for pair in posts.values_list("image", "thumbnail") for name in pair if name]
    storage = Post._meta.get_field("image").storage
    row.delete()
    if files:
        transaction.on_commit(lambda: delete_files(storage, files))
