"""A workspace's scheduled posts as an iCalendar feed (RFC 5545), for Google Calendar or Outlook.

The feed lives at a secret URL (/calendar/<Workspace.ical_token>.ics): calendar apps subscribe
to a URL and send no credentials, so the URL is the credential. Owners make it and make a new
one (the old one stops working at once). Each post is a 15-minute event at its scheduled time;
its UID is the post's, so a calendar app moves the event when the post is rescheduled and drops
it when it is unscheduled.
"""

import secrets
from collections.abc import Callable, Iterable
from datetime import timedelta

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from campaigns.models import Post
from shared.platforms import Platform
from workspaces.access import require
from workspaces.models import Workspace
from workspaces.roles import Action

EVENT_LENGTH = timedelta(minutes=15)
PRODID = "-//Campaign Posts//Scheduled posts//EN"


def render_calendar(*, name: str, posts: Iterable[Post], post_url: Callable[[Post], str]) -> bytes:
    """The feed's bytes; `posts` must have scheduled_at set and their campaign loaded."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for post in posts:
        assert post.scheduled_at is not None
        platform = Platform(post.platform).label
        event = Event()
        event.add("uid", f"post-{post.pk}@campaign-posts")
        event.add("dtstamp", post.updated_at)
        event.add("last-modified", post.updated_at)
        event.add("dtstart", post.scheduled_at)
        event.add("dtend", post.scheduled_at + EVENT_LENGTH)
        snippet = post.caption if len(post.caption) <= 60 else post.caption[:59] + "…"
        event.add("summary", f"{platform} · {post.campaign.name}: {snippet}")
        event.add(
            "description", "\n\n".join(filter(None, [post.caption, post.hashtag_text, f"Review: {post.review_status}"]))
        )
        event.add("url", post_url(post))
        event.add("categories", [platform])
        calendar.add_component(event)
    return calendar.to_ical()


def calendar_feed_regenerate(*, workspace: Workspace, actor: User) -> Workspace:
    """Give the workspace a new secret feed URL; the previous one answers 404 from now on."""
    require(actor, workspace, Action.MANAGE_WORKSPACE)
    workspace.ical_token = secrets.token_urlsafe(32)
    workspace.save(update_fields=["ical_token"])
    return workspace


def calendar_feed_path(workspace: Workspace) -> str:
    return reverse("exports:calendar_feed", args=[workspace.ical_token])


def workspace_by_calendar_token(token: str) -> Workspace:
    """The workspace whose feed URL carries `token`, or Workspace.DoesNotExist."""
    if not token:
        raise Workspace.DoesNotExist("no token")
    return Workspace.objects.get(ical_token=token)


def feed_posts(workspace: Workspace) -> QuerySet[Post]:
    """The workspace's scheduled posts, from 30 days ago on (calendar apps keep what they saw)."""
    since = timezone.now() - timedelta(days=30)
    return (
        Post.objects.filter(campaign__workspace=workspace, scheduled_at__gte=since)
        .select_related("campaign")
        .order_by("scheduled_at", "id")[:5000]
    )
