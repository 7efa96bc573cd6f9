"""Posts a person may see: one, a campaign's grid, the scheduled ones."""

import re
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import (
    F,
    Q,
    QuerySet,
)

from campaigns.models import Campaign, GenerationStatus, Post
from campaigns.selectors.campaigns import visible_campaigns
from workspaces.models import Workspace


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
