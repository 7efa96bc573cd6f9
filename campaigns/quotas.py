"""Per-user limits on what spends the provider's money and the workers' time.

The services call these (batch_start, post_regenerate, the export starts), so pages, the admin,
the shell and an API refuse with the same words. Staff and the shell (no user) are exempt: they
run the service, and a workspace's budget still holds for them.

Active batches and posts per day (new batches' and retries') are counted in PostgreSQL, exactly,
under a lock on the user's row; regenerations and exports are counted in one-minute windows by
shared.rate_counter (the shared cache, Redis).
"""

from datetime import timedelta
from typing import TypeGuard

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import F, Sum
from django.utils import timezone

from campaigns.models import ACTIVE_BATCH_STATUSES, Activity, ActivityVerb, BatchJob
from shared.rate_counter import window_usage

WINDOW_SECONDS = 60


class LimitReached(ValidationError):
    """A per-user limit refused the request: the message says which one and when it frees up.

    `retry_after`: the seconds until a per-minute limit has room again (None for the limits that
    free up only when something ends, such as a running batch).
    """

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message, code="limit_reached")
        self.retry_after = retry_after


def applies_to(user: User | None) -> TypeGuard[User]:
    return user is not None and not user.is_staff


def check_batch_limits(*, user: User | None, count: int) -> None:
    """Refuse a batch of `count` posts that would take `user` over their active batches or posts per day.

    Call it inside the transaction that creates the batch: it locks the user's row until that
    transaction ends, so two starts in the same instant cannot both see room for one more batch.
    """
    if not applies_to(user):
        return
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
    mine = BatchJob.objects.filter(requested_by=user)
    active = mine.filter(status__in=ACTIVE_BATCH_STATUSES).count()
    most = settings.ACTIVE_BATCHES_PER_USER
    if active >= most:
        raise LimitReached(
            f"You already have {active} batches running, and {most} may run at once: "
            "wait for one to end, or cancel one."
        )
    # Canceled posts are never generated: they give their share of the day back. Retried posts are
    # generated again: each retry counts for the member who asked for it.
    since = timezone.now() - timedelta(days=1)
    started = mine.filter(created_at__gte=since).aggregate(n=Sum(F("requested_count") - F("canceled_count")))["n"]
    retried = Activity.objects.filter(actor=user, verb=ActivityVerb.RETRIED, created_at__gte=since).aggregate(
        n=Sum("queued_posts")
    )["n"]
    asked = (started or 0) + (retried or 0)
    per_day = settings.POSTS_PER_DAY_PER_USER
    if asked + count > per_day:
        left = max(per_day - asked, 0)
        raise LimitReached(
            f"You may ask for {per_day:,} posts a day and have asked for {asked:,} in the last 24 hours: "
            f"{left:,} more now."
        )


def take_regeneration(*, user: User | None) -> None:
    """Count one regeneration for `user`, or refuse it past REGENERATIONS_PER_MINUTE."""
    _take_within_minute(user, "regenerations", settings.REGENERATIONS_PER_MINUTE)


def take_export(*, user: User | None) -> None:
    """Count one export (CSV or ZIP) for `user`, or refuse it past EXPORTS_PER_MINUTE."""
    _take_within_minute(user, "exports", settings.EXPORTS_PER_MINUTE)


def _take_within_minute(user: User | None, what: str, most: int) -> None:
    if not applies_to(user):
        return
    usage = window_usage(group=f"per-user-{what}", key=str(user.pk), limit=most, period_seconds=WINDOW_SECONDS)
    if usage.exceeded:
        wait = usage.seconds_left
        raise LimitReached(f"You may make {most} {what} a minute: try again in {wait} seconds.", retry_after=wait)
