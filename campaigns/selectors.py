"""Reads of the campaigns domain: what the pages, the admin and the commands show.

Every function returns a queryset or plain values and takes the viewing user where
ownership matters, so "a marketer sees only their own" is decided here, once.
"""

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from campaigns.failure_reasons import failure_label
from campaigns.models import BatchJob, Campaign, GenerationStatus, Post, Profile

CAMPAIGN_SORTS = {
    "newest": "-created_at",
    "oldest": "created_at",
    "name": "name",
    "-name": "-name",
    "updated": "-updated_at",
}


def time_zone_of(user: User) -> str:
    """The person's time zone name, or "" for the site's default (settings.TIME_ZONE)."""
    return Profile.objects.filter(user=user).values_list("time_zone", flat=True).first() or ""


def campaigns_for(user: User) -> QuerySet[Campaign]:
    return Campaign.objects.filter(owner=user)


def campaign_list(*, user: User, search: str = "", sort: str = "newest") -> QuerySet[Campaign]:
    """The marketer's campaigns with post counts by status and the last batch's state.

    One query: counts are conditional aggregates, the last batch comes from subqueries.
    """
    last_batch = BatchJob.objects.filter(campaign=OuterRef("pk")).order_by("-created_at")
    # Canceled posts were never written: they are not posts, so no count includes them.
    campaigns = campaigns_for(user).annotate(
        posts_total=Count("posts", filter=~Q(posts__status=GenerationStatus.CANCELED)),
        posts_ready=Count("posts", filter=Q(posts__status=GenerationStatus.SUCCEEDED)),
        posts_failed=Count("posts", filter=Q(posts__status=GenerationStatus.FAILED)),
        posts_in_progress=Count(
            "posts", filter=Q(posts__status__in=[GenerationStatus.PENDING, GenerationStatus.GENERATING])
        ),
        posts_approved=Count("posts", filter=Q(posts__review_status="approved")),
        last_batch_id=Subquery(last_batch.values("pk")[:1]),
        last_batch_status=Subquery(last_batch.values("status")[:1]),
    )
    if search:
        campaigns = campaigns.filter(Q(name__icontains=search) | Q(brief__icontains=search))
    return campaigns.order_by(CAMPAIGN_SORTS.get(sort, "-created_at"), "-pk")


def campaign_by_reference(reference: str) -> Campaign:
    """A campaign by id, or by exact name when that name is unique across owners (for commands).

    Raises Campaign.DoesNotExist or Campaign.MultipleObjectsReturned with a message fit to print.
    """
    reference = reference.strip()
    if reference.isdigit():
        campaign = Campaign.objects.filter(pk=int(reference)).first()
        if campaign:
            return campaign
    matches = list(Campaign.objects.filter(name=reference)[:2])
    if not matches:
        raise Campaign.DoesNotExist(f"no campaign with id or name {reference!r}")
    if len(matches) > 1:
        raise Campaign.MultipleObjectsReturned(f"several campaigns are named {reference!r}; use the id instead")
    return matches[0]


def campaign_for(*, user: User, pk: int) -> Campaign:
    """The user's campaign, or Campaign.DoesNotExist (a view turns that into 404)."""
    return campaigns_for(user).get(pk=pk)


def batch_for(*, user: User, pk: int) -> BatchJob:
    return BatchJob.objects.select_related("campaign").get(pk=pk, campaign__owner=user)


def post_for(*, user: User, pk: int) -> Post:
    return Post.objects.select_related("campaign", "batch").get(pk=pk, campaign__owner=user)


PROGRESS_FIELDS = (
    "id",
    "campaign_id",
    "requested_count",
    "status",
    "mode",
    "provider_progress",
    "succeeded_count",
    "failed_count",
    "canceled_count",
    "cost_usd",
    "error_summary",
    "created_at",
    "started_at",
    "finished_at",
)


def batch_progress(*, user: User, pk: int) -> BatchJob:
    """The one row the live progress panel reads, if `user` owns its campaign.

    One indexed lookup joined to the campaign for ownership, never a count of posts. The fields
    are PROGRESS_FIELDS; the others load on first use.
    """
    return BatchJob.objects.only(*PROGRESS_FIELDS).get(pk=pk, campaign__owner=user)


def batch_progress_for_staff(*, user: User | AnonymousUser, pk: int) -> BatchJob:
    """The progress panel's row of any owner's batch, for staff (the admin's batch page)."""
    if not (user.is_active and user.is_staff):
        raise BatchJob.DoesNotExist("Only staff see other owners' batches.")
    return BatchJob.objects.only(*PROGRESS_FIELDS).get(pk=pk)


@dataclass(frozen=True)
class FailureGroup:
    """A batch's failed posts that share a reason code; `example` is one provider message (staff only)."""

    code: str  # a FailureReason, or "" for an internal error
    label: str
    count: int
    example: str


def batch_failure_reasons(batch: BatchJob) -> list[FailureGroup]:
    """A batch's failed posts grouped by reason code, most frequent first: one grouped query on (batch, status)."""
    rows = (
        Post.objects.filter(batch=batch, status=GenerationStatus.FAILED)
        .values_list("failure_reason")
        .annotate(n=Count("id"), example=Max("error_message"))
        .order_by("-n", "failure_reason")
    )
    return [FailureGroup(code, failure_label(code), n, example or "") for code, n, example in rows]


def campaign_batches(campaign: Campaign, *, limit: int = 20) -> list[BatchJob]:
    return list(campaign.batches.order_by("-created_at")[:limit])


def active_batches(campaign: Campaign) -> list[BatchJob]:
    return list(campaign.batches.filter(status__in=["queued", "running"]).order_by("-created_at"))


def campaign_posts(
    campaign: Campaign,
    *,
    status: str = "",
    review: str = "",
    platform: str = "",
    batch_id: int | None = None,
    scheduled_only: bool = False,
    include_canceled: bool = False,
) -> QuerySet[Post]:
    """A campaign's posts, filtered as on the campaign page (and as exported).

    Canceled posts (a canceled batch's never-written ones) are left out unless `status` or
    `include_canceled` asks for them.
    """
    posts = Post.objects.filter(campaign=campaign)
    if status:
        posts = posts.filter(status=status)
    elif not include_canceled:
        posts = posts.exclude(status=GenerationStatus.CANCELED)
    if review:
        posts = posts.filter(review_status=review)
    if platform:
        posts = posts.filter(platform=platform)
    if batch_id:
        posts = posts.filter(batch_id=batch_id)
    if scheduled_only:
        posts = posts.filter(scheduled_at__isnull=False)
    return posts.order_by("-created_at", "-id")


def scheduled_posts(campaign: Campaign, *, start: datetime, end: datetime) -> QuerySet[Post]:
    """Posts scheduled in [start, end), for the calendar."""
    return Post.objects.filter(campaign=campaign, scheduled_at__gte=start, scheduled_at__lt=end).order_by(
        "scheduled_at", "id"
    )


def scheduled_posts_for(*, user: User, start: datetime, end: datetime) -> QuerySet[Post]:
    """Posts scheduled in [start, end) in every campaign the user can see, for the calendar of all campaigns."""
    return (
        Post.objects.filter(campaign__in=campaigns_for(user), scheduled_at__gte=start, scheduled_at__lt=end)
        .select_related("campaign")
        .order_by("scheduled_at", "id")
    )


@dataclass
class CalendarDay:
    day: date
    in_month: bool
    is_today: bool
    posts: list[Post] = field(default_factory=list)


@dataclass
class CalendarMonth:
    first_day: date  # the 1st of the month shown
    weeks: list[list[CalendarDay]]
    previous_month: date
    next_month: date
    post_count: int

    @property
    def days_with_posts(self) -> list[CalendarDay]:
        return [day for week in self.weeks for day in week if day.in_month and day.posts]

    @property
    def weekday_names(self) -> list[str]:
        return [calendar.day_abbr[(calendar.MONDAY + offset) % 7] for offset in range(7)]


CALENDAR_POST_FIELDS = ("id", "platform", "caption", "review_status", "status", "scheduled_at", "campaign_id")


def calendar_month(campaign: Campaign, *, year: int, month: int) -> CalendarMonth:
    """The month grid (weeks from Monday) with the campaign's posts scheduled on each day."""
    return _month_grid(
        lambda start, end: scheduled_posts(campaign, start=start, end=end).only(*CALENDAR_POST_FIELDS),
        year=year,
        month=month,
    )


def calendar_month_for(*, user: User, year: int, month: int) -> CalendarMonth:
    """The month grid with the posts of every campaign the user can see (each knows its campaign's name)."""
    return _month_grid(
        lambda start, end: scheduled_posts_for(user=user, start=start, end=end).only(
            *CALENDAR_POST_FIELDS, "campaign__name"
        ),
        year=year,
        month=month,
    )


def _month_grid(
    posts_between: Callable[[datetime, datetime], QuerySet[Post]], *, year: int, month: int
) -> CalendarMonth:
    """Days are the current time zone's; one query reads the posts of the weeks shown."""
    first_day = date(year, month, 1)
    weeks_of_dates = calendar.Calendar(firstweekday=calendar.MONDAY).monthdatescalendar(year, month)
    start, end = weeks_of_dates[0][0], weeks_of_dates[-1][-1] + timedelta(days=1)
    zone = timezone.get_current_timezone()
    posts = posts_between(datetime.combine(start, time.min, tzinfo=zone), datetime.combine(end, time.min, tzinfo=zone))
    by_day: dict[date, list[Post]] = {}
    for post in posts:
        by_day.setdefault(timezone.localtime(post.scheduled_at).date(), []).append(post)
    today = timezone.localdate()
    weeks = [
        [CalendarDay(day=d, in_month=d.month == month, is_today=d == today, posts=by_day.get(d, [])) for d in week]
        for week in weeks_of_dates
    ]
    previous_month = (first_day - timedelta(days=1)).replace(day=1)
    next_month = (first_day + timedelta(days=32)).replace(day=1)
    in_month = sum(len(day.posts) for week in weeks for day in week if day.in_month)
    # (The list view shows the days of the month that have posts: CalendarMonth.days_with_posts.)
    return CalendarMonth(
        first_day=first_day, weeks=weeks, previous_month=previous_month, next_month=next_month, post_count=in_month
    )
