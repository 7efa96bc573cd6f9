"""The activity log: who created, edited, approved, scheduled or regenerated what, and when.

Services write an entry with `record` inside the transaction of the change itself, so the log
never shows a change that didn't happen. Pages read it with `post_activity` and `batch_activity`.
"""

from datetime import datetime

from django.contrib.auth.models import User
from django.utils import timezone

from campaigns.models import Activity, ActivityVerb, BatchJob, Campaign, Post

# What the post and batch pages show; the admin has them all.
SHOWN = 50


def record(
    verb: ActivityVerb,
    *,
    actor: User | None,
    post: Post | None = None,
    batch: BatchJob | None = None,
    campaign: Campaign | None = None,
    detail: str = "",
    queued_posts: int | None = None,
) -> Activity:
    """One entry about a post (it counts for its batch too), a batch, or a campaign."""
    if post is not None:
        campaign_id, batch_id = post.campaign_id, post.batch_id
    elif batch is not None:
        campaign_id, batch_id = batch.campaign_id, batch.pk
    elif campaign is not None:
        campaign_id, batch_id = campaign.pk, None
    else:
        raise ValueError("an activity is about a post, a batch or a campaign")
    return Activity.objects.create(
        verb=verb,
        actor=actor,
        campaign_id=campaign_id,
        batch_id=batch_id,
        post=post,
        detail=detail[:200],
        queued_posts=queued_posts,
    )


def schedule_detail(scheduled_at: datetime) -> str:
    """A scheduling entry's detail: the time in the scheduler's zone ("for 2026-06-01 09:00 CEST")."""
    return f"for {timezone.localtime(scheduled_at):%Y-%m-%d %H:%M %Z}"


def post_activity(post: Post) -> list[Activity]:
    return list(Activity.objects.filter(post=post).select_related("actor")[:SHOWN])


def batch_activity(batch: BatchJob) -> list[Activity]:
    """The batch's entries (started, canceled, retried) and those of its posts, newest first."""
    return list(Activity.objects.filter(batch=batch).select_related("actor")[:SHOWN])
