"""A person's scheduled posts as an iCalendar feed (RFC 5545), for Google Calendar or Outlook.

Each person has their own feed at a secret URL (/calendar/<token>.ics; the token is theirs, kept
as accounts.calendar_tokens says): calendar apps subscribe to a URL and send no credentials, so
the URL is the credential. It shows the scheduled posts of the workspaces the person belongs to
when the calendar app asks, as the pages would show them (invariant 9 (docs/architecture.md)):
membership is read on every fetch, so a workspace they leave or are removed from drops out of it
at once. The person makes a new URL when the old one has leaked (the old one answers 404 at
once). Each post is a 15-minute event at its scheduled time; its UID is the post's, so a
calendar app moves the event when the post is rescheduled and drops it when it is unscheduled.
"""

from collections.abc import Callable, Iterable
from datetime import timedelta

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from accounts.selectors import calendar_token_of, user_by_calendar_token
from accounts.services import profile_new_calendar_token
from campaigns.models import Post
from campaigns.selectors.campaigns import visible_campaigns
from shared.platforms import Platform

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


def calendar_feed_new_url(*, user: User) -> str:
    """Give the person a new secret feed URL (its path returned); their previous one answers 404 from now on."""
    return calendar_feed_path(profile_new_calendar_token(user=user))


def calendar_feed_path(token: str) -> str:
    return reverse("exports:calendar_feed", args=[token])


def calendar_feed_path_of(user: User) -> str:
    """The path of the person's feed, or "" when they have no URL to show (accounts.selectors.calendar_token_of)."""
    token = calendar_token_of(user)
    return calendar_feed_path(token) if token else ""


def feed_owner(token: str) -> User | None:
    """The active person whose feed URL carries `token`, or None (the feed answers 404)."""
    return user_by_calendar_token(token)


def feed_posts(user: User) -> QuerySet[Post]:
    """The scheduled posts of every workspace `user` is a member of now, from 30 days ago on
    (calendar apps keep what they saw)."""
    since = timezone.now() - timedelta(days=30)
    return (
        Post.objects.filter(campaign__in=visible_campaigns(user), scheduled_at__gte=since)
        .select_related("campaign")
        .order_by("scheduled_at", "id")[:5000]
    )
