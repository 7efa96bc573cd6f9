"""A workspace's scheduled posts as an iCalendar feed (RFC 5545), for Google Calendar or Outlook.

Each post is a 15-minute event at its scheduled time; its UID is the post's, so a calendar app
moves the event when the post is rescheduled and drops it when it is unscheduled.
"""

from collections.abc import Callable, Iterable
from datetime import timedelta

from icalendar import Calendar, Event

from campaigns.models import Post
from campaigns.platforms import Platform

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
