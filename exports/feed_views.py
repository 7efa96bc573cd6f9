"""The workspace's calendar feed (exports.calendar_feed): the .ics at its secret URL, and making a new URL."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from exports.calendar_feed import calendar_feed_regenerate, feed_posts, render_calendar, workspace_by_calendar_token
from shared.http import login_required
from workspaces.models import Workspace
from workspaces.view_access import AuthenticatedHttpRequest


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """No sign-in: calendar apps send none. The secret URL is the credential."""
    try:
        workspace = workspace_by_calendar_token(token)
    except Workspace.DoesNotExist:
        raise Http404("No such calendar.") from None
    body = render_calendar(
        name=f"{workspace.name} · scheduled posts",
        posts=feed_posts(workspace),
        post_url=lambda post: request.build_absolute_uri(post.get_absolute_url()),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="scheduled-posts.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
@require_POST
def calendar_feed_new_url(request: AuthenticatedHttpRequest) -> HttpResponse:
    calendar_feed_regenerate(workspace=request.workspace, actor=request.user)
    messages.success(request, "The calendar has a new URL: subscribe to it again; the old one no longer works.")
    return redirect("api:tokens")
