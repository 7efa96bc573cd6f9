"""Reads of the campaigns domain: what the pages, the admin and the commands show.

Every function returns a queryset or plain values and takes the viewing user where access
matters: a user sees the campaigns (and their batches and posts) of the workspaces they are a
member of, whatever their role, and nothing else. That is decided here, once; what a role may
*do* is campaigns.roles, checked by the services through campaigns.access.require.
"""

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.failure_reasons import failure_label
from campaigns.models import (
    ACTIVE_BATCH_STATUSES,
    BatchJob,
    Campaign,
    Export,
    GenerationStatus,
    Invitation,
    Membership,
    Post,
    Profile,
    Workspace,
)

CAMPAIGN_SORTS = {
    "newest": "-created_at",
    "oldest": "created_at",
    "name": "name",
    "-name": "-name",
    "updated": "-updated_at",
}


def workspaces_for(user: User) -> QuerySet[Workspace]:
    """The workspaces `user` is a member of, their personal one first, then by name; each with
    `viewer_role`, the user's role there (from the same join)."""
    return (
        Workspace.objects.filter(memberships__user=user)
        .annotate(viewer_role=F("memberships__role"))
        .annotate(is_personal=Case(When(personal_for=user, then=True), default=False, output_field=BooleanField()))
        .order_by("-is_personal", "name", "pk")
    )


def time_zone_of(user: User) -> str:
    """The person's time zone name, or "" for the site's default (settings.TIME_ZONE)."""
    return Profile.objects.filter(user=user).values_list("time_zone", flat=True).first() or ""


def membership_of(user: User | AnonymousUser, workspace: Workspace | int) -> Membership | None:
    """The user's membership of the workspace, or None: one row by the unique (workspace, user)."""
    if not user.is_authenticated:
        return None
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    return Membership.objects.filter(workspace_id=workspace_id, user=user).first()


def workspace_members(workspace: Workspace) -> QuerySet[Membership]:
    return Membership.objects.filter(workspace=workspace).select_related("user").order_by("user__username")


def workspace_invitations(workspace: Workspace) -> QuerySet[Invitation]:
    return Invitation.objects.filter(workspace=workspace).select_related("created_by")


def workspace_pending_invitations(workspace: Workspace) -> QuerySet[Invitation]:
    """Invitations not yet used, revoked or expired, newest first: what an owner may still revoke."""
    return workspace_invitations(workspace).filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


def visible_campaigns(user: User, workspace: Workspace | None = None) -> QuerySet[Campaign]:
    """Campaigns of the workspaces `user` belongs to; only `workspace`'s when given (none if not a member)."""
    campaigns = Campaign.objects.visible_to(user)
    return campaigns.filter(workspace=workspace) if workspace is not None else campaigns


def campaign_list(
    *, user: User, workspace: Workspace | None = None, search: str = "", sort: str = "newest"
) -> QuerySet[Campaign]:
    """The campaigns `user` sees (in `workspace` if given) with post counts by status and the last batch's state.

    One query: counts are conditional aggregates, the last batch comes from subqueries.
    """
    last_batch = BatchJob.objects.filter(campaign=OuterRef("pk")).order_by("-created_at")
    # Canceled posts were never written: they are not posts, so no count includes them.
    campaigns = visible_campaigns(user, workspace).annotate(
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
    """A campaign by id, or by exact name when that name is unique across workspaces (for commands).

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
    """A campaign of one of the user's workspaces, or Campaign.DoesNotExist (a view turns that into 404).

    campaign_for, batch_for and post_for annotate `viewer_role`, the user's role in the workspace,
    from the join that scopes them: pages show the buttons of that role without another query.
    """
    return (
        visible_campaigns(user)
        .select_related("workspace")
        .annotate(viewer_role=F("workspace__memberships__role"))
        .get(pk=pk)
    )


def batch_for(*, user: User, pk: int) -> BatchJob:
    return (
        BatchJob.objects.select_related("campaign__workspace")
        .filter(pk=pk, campaign__workspace__memberships__user=user)
        .annotate(viewer_role=F("campaign__workspace__memberships__role"))
        .get()
    )


def post_for(*, user: User, pk: int) -> Post:
    return (
        Post.objects.select_related("campaign__workspace", "batch")
        .filter(pk=pk, campaign__workspace__memberships__user=user)
        .annotate(viewer_role=F("campaign__workspace__memberships__role"))
        .get()
    )


# A post's stored files are named "posts/<campaign id>/<post id>-<random>[-thumb].jpg" (generation.images).
_POST_FILE_NAME = re.compile(r"posts/(?P<campaign_id>[0-9]{1,18})/(?P<post_id>[0-9]{1,18})-[^/]+")


def post_with_file(*, user: User, name: str) -> Post:
    """The post whose image or thumbnail is stored as `name`, if `user` may see that post.

    The one access check of private media (campaigns.views.media): members of the post's workspace,
    whatever their role; Post.DoesNotExist otherwise.
    """
    match = _POST_FILE_NAME.fullmatch(name)
    if not match:
        raise Post.DoesNotExist("Not a post's file.")
    # Staff who may view posts in the admin see every post's thumbnail there.
    staff_view = user.is_active and user.is_staff and user.has_perm("campaigns.view_post")
    posts = Post.objects.all() if staff_view else Post.objects.visible_to(user)
    return posts.filter(Q(image=name) | Q(thumbnail=name), pk=int(match["post_id"])).only("id").get()


def export_for(*, user: User, pk: int) -> Export:
    """An export of a campaign of the user's workspaces, or Export.DoesNotExist."""
    return Export.objects.select_related("campaign").get(pk=pk, campaign__in=Campaign.objects.visible_to(user))


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
    """The one row the live progress panel reads, if `user` is a member of its campaign's workspace.

    One indexed lookup joined to the campaign and the membership, never a count of posts. The
    fields are PROGRESS_FIELDS, and `viewer_role`, the user's role from the same join (the panel
    shows Cancel and Retry by it); the others load on first use.
    """
    return (
        BatchJob.objects.only(*PROGRESS_FIELDS)
        .filter(pk=pk, campaign__workspace__memberships__user=user)
        .annotate(viewer_role=F("campaign__workspace__memberships__role"))
        .get()
    )


def batch_progress_for_staff(*, user: User | AnonymousUser, pk: int) -> BatchJob:
    """The progress panel's row of any workspace's batch, for staff (the admin's batch page)."""
    if not (user.is_active and user.is_staff):
        raise BatchJob.DoesNotExist("Only staff see other workspaces' batches.")
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


def month_start() -> datetime:
    """Midnight on the first of this month, in TIME_ZONE: where a workspace's monthly spend starts."""
    return timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _spend_since(start: datetime, workspace: OuterRef) -> Subquery:
    """The cost of a workspace's batches created since `start` (regenerations count toward their batch)."""
    return Subquery(
        BatchJob.objects.filter(campaign__workspace=workspace, created_at__gte=start)
        .order_by()
        .values("campaign__workspace")
        .annotate(total=Sum("cost_usd"))
        .values("total"),
        output_field=DecimalField(max_digits=14, decimal_places=6),
    )


def workspace_spend_this_month(workspace: Workspace) -> Decimal:
    spent = Workspace.objects.filter(pk=workspace.pk).values_list(
        Coalesce(_spend_since(month_start(), OuterRef("pk")), Decimal("0")), flat=True
    )
    return spent.first() or Decimal("0")


def with_spend_this_month(workspaces: QuerySet[Workspace]) -> QuerySet[Workspace]:
    """`workspaces`, each with `spent_this_month` (USD): one subquery, for the admin's list."""
    return workspaces.annotate(spent_this_month=Coalesce(_spend_since(month_start(), OuterRef("pk")), Decimal("0")))


def workspace_running_batches(workspace: Workspace) -> list[BatchJob]:
    """The workspace's batches still generating: what they may yet spend counts against its budget."""
    return list(BatchJob.objects.filter(campaign__workspace=workspace, status__in=ACTIVE_BATCH_STATUSES))


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


def scheduled_posts_for(*, user: User, workspace: Workspace | None, start: datetime, end: datetime) -> QuerySet[Post]:
    """Posts scheduled in [start, end) in every campaign the user can see (in `workspace` if given),
    for the calendar of all campaigns."""
    return (
        Post.objects.filter(
            campaign__in=visible_campaigns(user, workspace), scheduled_at__gte=start, scheduled_at__lt=end
        )
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


def calendar_month_for(*, user: User, workspace: Workspace | None, year: int, month: int) -> CalendarMonth:
    """The month grid with the posts of every campaign the user can see in `workspace` (each knows its
    campaign's name)."""
    return _month_grid(
        lambda start, end: scheduled_posts_for(user=user, workspace=workspace, start=start, end=end).only(
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


def post_list(
    *,
    user: User,
    workspace: Workspace,
    campaign_id: int | None = None,
    batch_id: int | None = None,
    status: str = "",
    review: str = "",
    platform: str = "",
    scheduled: bool | None = None,
) -> QuerySet[Post]:
    """The posts of `workspace` if `user` is a member of it (none otherwise), filtered, newest first
    (then by id, so that a cursor is exact). Canceled posts only when asked for by status, as in the grid."""
    posts = Post.objects.filter(campaign__in=visible_campaigns(user, workspace))
    if campaign_id is not None:
        posts = posts.filter(campaign_id=campaign_id)
    if batch_id is not None:
        posts = posts.filter(batch_id=batch_id)
    posts = posts.filter(status=status) if status else posts.exclude(status=GenerationStatus.CANCELED)
    if review:
        posts = posts.filter(review_status=review)
    if platform:
        posts = posts.filter(platform=platform)
    if scheduled is not None:
        posts = posts.filter(scheduled_at__isnull=not scheduled)
    return posts.order_by("-created_at", "-id")


@dataclass
class Usage:
    month: date  # the 1st of the month counted
    spent_usd: Decimal
    batches: int
    posts: int


def usage_this_month(workspace: Workspace) -> Usage:
    """What the workspace's batches started this month cost and asked for (one aggregate query)."""
    first_day = timezone.localdate().replace(day=1)
    since = datetime.combine(first_day, time.min, tzinfo=timezone.get_current_timezone())
    totals = BatchJob.objects.filter(campaign__workspace=workspace, created_at__gte=since).aggregate(
        spent=Sum("cost_usd"), batches=Count("id"), posts=Sum("requested_count")
    )
    return Usage(
        month=first_day,
        spent_usd=totals["spent"] or Decimal("0"),
        batches=totals["batches"],
        posts=totals["posts"] or 0,
    )
