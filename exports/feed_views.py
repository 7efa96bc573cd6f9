"""The person's calendar feed (exports.calendar_feed): the .ics at its secret URL, and making a new URL."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from exports.calendar_feed import calendar_feed_new_url as calendar_feed_new_url_for
from exports.calendar_feed import feed_owner, feed_posts, render_calendar
from shared.http import login_required
from workspaces.view_access import AuthenticatedHttpRequest


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """No sign-in: calendar apps send none. The secret URL is the credential, and the person's
    memberships now say what it shows."""
    user = feed_owner(token)
    if user is None:
        raise Http404("No such calendar.")
    body = render_calendar(
        name="Scheduled posts",
        posts=feed_posts(user),
        post_url=lambda post: request.build_absolute_uri(post.get_absolute_url()),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="scheduled-posts.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
@never_cache  # the answer carries the new secret URL
@require_POST
def calendar_feed_new_url(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Any signed-in person makes a new URL for their own feed; the old one answers 404 from now on."""
    path = calendar_feed_new_url_for(user=request.user)
    if request.htmx:
        context = {"calendar_url": request.build_absolute_uri(path), "calendar_renewed": True}
        return render(request, "exports/partials/calendar_feed.html", context)
    messages.success(request, "Your calendar has a new URL: subscribe to it again; the old one no longer works.")
    return redirect("api:tokens")
