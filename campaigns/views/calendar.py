"""The calendar of every campaign the person can see: a month grid or a list of days, and moving a
post to another day (drag and drop in the grid, or the form beside each post in the list)."""

from datetime import date, datetime, time
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from campaigns import selectors, services
from campaigns.forms import RescheduleForm
from campaigns.models import Post
from shared.http import login_required
from workspaces.view_access import AuthenticatedHttpRequest, owned_or_404

CALENDAR_TEMPLATE = "campaigns/schedule_calendar.html"
VIEWS = ("month", "list")


def month_from(value: str) -> date:
    """'2025-06' -> date(2025, 6, 1); anything else (or far from today) -> this month."""
    try:
        year, month = (int(part) for part in value.split("-", 1))
        if 1900 <= year <= 2999:
            return date(year, month, 1)
    except ValueError:
        pass
    return timezone.localdate().replace(day=1)


def _calendar_context(request: AuthenticatedHttpRequest, query: QueryDict, **extra: Any) -> dict[str, Any]:
    first_day = month_from(query.get("month", ""))
    view = query.get("view", "month")
    return {
        "month": selectors.calendar_month_for(
            user=request.user, workspace=request.workspace, year=first_day.year, month=first_day.month
        ),
        "view": view if view in VIEWS else "month",
        "nav": "calendar",
        **extra,
    }


@login_required
@require_GET
@vary_on_headers("HX-Request")
def schedule_calendar(request: AuthenticatedHttpRequest) -> HttpResponse:
    context = _calendar_context(request, request.GET)
    partial = request.htmx and not request.htmx.history_restore_request
    return render(request, f"{CALENDAR_TEMPLATE}#calendar" if partial else CALENDAR_TEMPLATE, context)


@login_required
@require_POST
def post_reschedule(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Move a post to another day (and time): `date`, and `time` or the post's own time of day."""
    post = owned_or_404(selectors.post_for, user=request.user, pk=pk)
    form = RescheduleForm(request.POST)
    error = notice = ""
    if form.is_valid():
        scheduled_at = _new_time(post, form.cleaned_data["date"], form.cleaned_data["time"])
        try:
            services.post_schedule(post=post, actor=request.user, scheduled_at=scheduled_at)
        except ValidationError as refusal:
            error = refusal.messages[0]
        else:
            local = timezone.localtime(scheduled_at)
            notice = f"Post #{post.pk} moved to {local:%a %b} {local.day}, {local:%H:%M}."
    else:
        error = str(next(iter(form.errors.values()))[0])
    if request.htmx:
        context = _calendar_context(request, request.POST, notice=notice, error=error)
        return render(request, f"{CALENDAR_TEMPLATE}#calendar", context)
    messages.add_message(request, messages.ERROR if error else messages.SUCCESS, error or notice)
    query = urlencode({key: request.POST[key] for key in ("month", "view") if request.POST.get(key)})
    return redirect(reverse("campaigns:schedule") + (f"?{query}" if query else ""))


def _new_time(post: Post, day: date, time_of_day: time | None) -> datetime:
    """The day in the person's time zone, at `time_of_day` or at the post's current local time."""
    if time_of_day is None:
        time_of_day = timezone.localtime(post.scheduled_at).time() if post.scheduled_at else time(9, 0)
    return timezone.make_aware(datetime.combine(day, time_of_day))
