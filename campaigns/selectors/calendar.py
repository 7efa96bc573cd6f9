"""The schedule as a month of days."""

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import User
from django.db.models import (
    QuerySet,
)
from django.utils import timezone

from campaigns.models import Campaign, Post
from campaigns.selectors.posts import scheduled_posts, scheduled_posts_for
from workspaces.models import Workspace


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
