"""Bulk actions on a grid's posts: approve, reject, delete or schedule many at once.

Each is one transaction over the posts chosen (ids picked on screen, or every post that matches the
grid's filter): the posts are locked, the ones the action cannot apply to are skipped and counted,
and the rest change together, or, when a refusal concerns the whole request (a schedule with too
few slots), nothing changes. The caller gets a BulkResult to tell the person what happened.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import ngettext

from campaigns.models import GenerationStatus, Post, ReviewStatus
from campaigns.services import delete_files

BULK_ACTIONS = ("approve", "reject", "delete", "schedule")
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


def posts_bulk_apply(*, posts: QuerySet[Post], action: str, plan: SpreadPlan | None = None) -> BulkResult:
    """Apply `action` to `posts` (a selector's queryset) in one transaction; see the module's docstring."""
    if action not in BULK_ACTIONS:
        raise ValidationError("Choose approve, reject, delete or schedule.")
    if action == "schedule" and plan is None:
        raise ValidationError("Scheduling needs a first day, a last day and the times of day.")
    with transaction.atomic():
        # Locked in the grid's order, oldest first for a schedule: the earliest post takes the earliest slot.
        ordered = posts.order_by("created_at", "id") if action == "schedule" else posts.order_by("-created_at", "-id")
        chosen = list(ordered.select_for_update(of=("self",)).only("id", "status", "image", "thumbnail"))
        if action == "approve":
            return _review(chosen, ReviewStatus.APPROVED, action, only_finished=True)
        if action == "reject":
            return _review(chosen, ReviewStatus.REJECTED, action, only_finished=False)
        if action == "delete":
            return _delete(chosen)
        assert plan is not None
        return _schedule(chosen, plan)


def _review(chosen: list[Post], decision: str, action: str, *, only_finished: bool) -> BulkResult:
    if only_finished:
        ids = [post.pk for post in chosen if post.status == GenerationStatus.SUCCEEDED]
        why = "only finished posts can be approved"
    else:
        ids = [post.pk for post in chosen if post.status not in BUSY]
        why = "they are being generated"
    Post.objects.filter(pk__in=ids).update(review_status=decision, updated_at=timezone.now())
    return BulkResult(action=action, changed=len(ids), skipped=len(chosen) - len(ids), skipped_because=why)


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


def _schedule(chosen: list[Post], plan: SpreadPlan) -> BulkResult:
    ready = [post for post in chosen if post.status == GenerationStatus.SUCCEEDED]
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
    for post, slot in zip(ready, slots, strict=False):
        post.scheduled_at, post.updated_at = slot, now
    Post.objects.bulk_update(ready, ["scheduled_at", "updated_at"], batch_size=500)
    return BulkResult(
        action="schedule",
        changed=len(ready),
        skipped=len(chosen) - len(ready),
        skipped_because="only finished posts can be scheduled",
        first_at=slots[0] if ready else None,
        last_at=slots[len(ready) - 1] if ready else None,
    )
