"""Bulk actions on a grid's posts: approve, reject, delete or schedule many at once.

Each is one transaction over the posts chosen (ids picked on screen, or every post that matches the
grid's filter): the posts are locked, the ones the action cannot apply to are skipped and counted,
and the rest change together, or, when a refusal concerns the whole request (a schedule with too
few slots), nothing changes. The caller gets a BulkResult to tell the person what happened.

The rules are the single-post services' (campaigns.services): the actor's role in the workspace,
approval required (only approved posts are scheduled; a rejection unschedules), an activity entry
per post changed and a post.approved webhook per approval, in the same transaction.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import ngettext

from campaigns import signals
from campaigns.models import Activity, ActivityVerb, Campaign, GenerationStatus, Post, ReviewStatus
from campaigns.services.activity import schedule_detail
from campaigns.services.posts import delete_files
from workspaces.access import check_allowed
from workspaces.roles import Action

BULK_ACTIONS = ("approve", "reject", "delete", "schedule")
# The role each action needs, as its single-post service does.
BULK_ACTION_NEEDS = {
    "approve": Action.REVIEW,
    "reject": Action.REVIEW,
    "delete": Action.DELETE_POST,
    "schedule": Action.SCHEDULE,
}
MAX_SCHEDULE_DAYS = 366
MAX_TIMES_A_DAY = 24
BUSY = (GenerationStatus.PENDING, GenerationStatus.GENERATING)


@dataclass(frozen=True)
class BulkResult:
    action: str
    changed: int
    skipped: int
    skipped_because: str = ""
    first_at: datetime | None = None  # a schedule's first and last slots
    last_at: datetime | None = None

    @property
    def summary(self) -> str:
        verb = {"approve": "Approved", "reject": "Rejected", "delete": "Deleted", "schedule": "Scheduled"}[self.action]
        text = ngettext("%(verb)s %(n)d post", "%(verb)s %(n)d posts", self.changed) % {
            "verb": verb,
            "n": self.changed,
        }
        if self.first_at and self.last_at:
            first, last = timezone.localtime(self.first_at), timezone.localtime(self.last_at)
            text += f" from {first:%b} {first.day}, {first:%H:%M} to {last:%b} {last.day}, {last:%H:%M}"
        text += "."
        if self.skipped:
            text += " " + ngettext("%(n)d skipped: %(why)s.", "%(n)d skipped: %(why)s.", self.skipped) % {
                "n": self.skipped,
                "why": self.skipped_because,
            }
        return text


@dataclass(frozen=True)
class SpreadPlan:
    """When scheduled posts go out: from `first_day` to `last_day`, at each of `times` every day (local times)."""

    first_day: date
    last_day: date
    times: tuple[time, ...]

    def slots(self, *, after: datetime) -> list[datetime]:
        """Every slot of the plan in the current time zone, in order, leaving out those not after `after`."""
        slots = []
        day = self.first_day
        while day <= self.last_day:
            for moment in self.times:
                slot = timezone.make_aware(datetime.combine(day, moment))
                if slot > after:
                    slots.append(slot)
            day += timedelta(days=1)
        return slots


def check_spread_plan(*, first_day: date, last_day: date, times: list[time]) -> SpreadPlan:
    if last_day < first_day:
        raise ValidationError("The last day must be on or after the first day.")
    if (last_day - first_day).days >= MAX_SCHEDULE_DAYS:
        raise ValidationError(f"Spread posts over at most {MAX_SCHEDULE_DAYS} days.")
    unique = tuple(sorted(set(times)))
    if not unique:
        raise ValidationError("Give at least one time of day.")
    if len(unique) > MAX_TIMES_A_DAY:
        raise ValidationError(f"At most {MAX_TIMES_A_DAY} times a day.")
    return SpreadPlan(first_day=first_day, last_day=last_day, times=unique)


def posts_bulk_apply(
    *, campaign: Campaign, posts: QuerySet[Post], action: str, actor: User | None, plan: SpreadPlan | None = None
) -> BulkResult:
    """Apply `action` to `posts` (a selector's queryset of `campaign`'s posts) in one transaction, as
    `actor` (None: staff and the shell); see the module's docstring."""
    if action not in BULK_ACTIONS:
        raise ValidationError("Choose approve, reject, delete or schedule.")
    check_allowed(actor, campaign.workspace, BULK_ACTION_NEEDS[action])
    if action == "schedule" and plan is None:
        raise ValidationError("Scheduling needs a first day, a last day and the times of day.")
    posts = posts.filter(campaign=campaign)
    approval_required = campaign.workspace.approval_required
    with transaction.atomic():
        # Locked in the grid's order, oldest first for a schedule: the earliest post takes the earliest slot.
        ordered = posts.order_by("created_at", "id") if action == "schedule" else posts.order_by("-created_at", "-id")
        fields = ("id", "campaign_id", "batch_id", "status", "review_status", "image", "thumbnail", "scheduled_at")
        chosen = list(ordered.select_for_update(of=("self",)).only(*fields))
        if action == "approve":
            return _approve(campaign, chosen, actor)
        if action == "reject":
            return _reject(chosen, actor, unschedule=approval_required)
        if action == "delete":
            return _delete(chosen)
        assert plan is not None
        return _schedule(chosen, plan, actor, approved_only=approval_required)


def _record(
    posts: list[Post], verb: ActivityVerb, actor: User | None, detail: Callable[[Post], str] = lambda post: ""
) -> None:
    """One activity entry per post, as the single-post services write them."""
    Activity.objects.bulk_create(
        [
            Activity(
                verb=verb,
                actor=actor,
                campaign_id=post.campaign_id,
                batch_id=post.batch_id,
                post=post,
                detail=detail(post),
            )
            for post in posts
        ],
        batch_size=500,
    )


def _approve(campaign: Campaign, chosen: list[Post], actor: User | None) -> BulkResult:
    ready = [post for post in chosen if post.status == GenerationStatus.SUCCEEDED]
    newly = [post for post in ready if post.review_status != ReviewStatus.APPROVED]
    Post.objects.filter(pk__in=[post.pk for post in ready]).update(
        review_status=ReviewStatus.APPROVED, updated_at=timezone.now()
    )
    _record(ready, ActivityVerb.APPROVED, actor)
    # The webhook's payload carries the words approved: read them for the posts approved just now.
    payload_fields = ("campaign_id", "batch_id", "platform", "caption", "hashtags")
    approved_now = Post.objects.filter(pk__in=[post.pk for post in newly]).only(*payload_fields).order_by("pk")
    signals.posts_approved.send(sender=Post, workspace_id=campaign.workspace_id, posts=list(approved_now))
    return BulkResult(
        action="approve",
        changed=len(ready),
        skipped=len(chosen) - len(ready),
        skipped_because="only finished posts can be approved",
    )


def _reject(chosen: list[Post], actor: User | None, *, unschedule: bool) -> BulkResult:
    idle = [post for post in chosen if post.status not in BUSY]
    # Where approval is required only approved posts stay scheduled (as post_review does).
    Post.objects.filter(pk__in=[post.pk for post in idle]).update(
        review_status=ReviewStatus.REJECTED, updated_at=timezone.now(), **({"scheduled_at": None} if unschedule else {})
    )
    _record(idle, ActivityVerb.REJECTED, actor)
    return BulkResult(
        action="reject", changed=len(idle), skipped=len(chosen) - len(idle), skipped_because="they are being generated"
    )


def _delete(chosen: list[Post]) -> BulkResult:
    doomed = [post for post in chosen if post.status not in BUSY]
    files = [f.name for post in doomed for f in (post.image, post.thumbnail) if f]
    Post.objects.filter(pk__in=[post.pk for post in doomed]).delete()
    if files:
        storage = Post._meta.get_field("image").storage
        transaction.on_commit(lambda: delete_files(storage, files))
    return BulkResult(
        action="delete",
        changed=len(doomed),
        skipped=len(chosen) - len(doomed),
        skipped_because="they are being generated",
    )


def _schedule(chosen: list[Post], plan: SpreadPlan, actor: User | None, *, approved_only: bool) -> BulkResult:
    if approved_only:
        ready = [
            p for p in chosen if p.status == GenerationStatus.SUCCEEDED and p.review_status == ReviewStatus.APPROVED
        ]
        why = "this workspace requires approval, and only approved posts can be scheduled"
    else:
        ready = [post for post in chosen if post.status == GenerationStatus.SUCCEEDED]
        why = "only finished posts can be scheduled"
    slots = plan.slots(after=timezone.now())
    if len(slots) < len(ready):
        raise ValidationError(
            ngettext(
                "%(posts)d posts need %(posts)d slots, and this plan has %(slots)d slot left: "
                "add days or times of day.",
                "%(posts)d posts need %(posts)d slots, and this plan has %(slots)d slots left: "
                "add days or times of day.",
                len(slots),
            )
            % {"posts": len(ready), "slots": len(slots)}
        )
    now = timezone.now()
    slot_of = dict(zip((post.pk for post in ready), slots, strict=False))
    for post in ready:
        post.scheduled_at, post.updated_at = slot_of[post.pk], now
    Post.objects.bulk_update(ready, ["scheduled_at", "updated_at"], batch_size=500)
    _record(ready, ActivityVerb.SCHEDULED, actor, detail=lambda post: schedule_detail(slot_of[post.pk]))
    return BulkResult(
        action="schedule",
        changed=len(ready),
        skipped=len(chosen) - len(ready),
        skipped_because=why,
        first_at=slots[0] if ready else None,
        last_at=slots[len(ready) - 1] if ready else None,
    )
