"""A post's comment thread: members talk about a post where they review it."""

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from campaigns.models import ActivityVerb, Comment, Post
from campaigns.services.activity import record
from workspaces.access import require
from workspaces.roles import Action

MAX_COMMENT = 2000


def comment_create(*, post: Post, actor: User, body: str) -> Comment:
    """Add a comment by `actor` (owners, editors and reviewers may; viewers read)."""
    require(actor, post.campaign.workspace, Action.COMMENT)
    body = body.strip()
    if not body:
        raise ValidationError("Write something first.")
    if len(body) > MAX_COMMENT:
        raise ValidationError(f"A comment is at most {MAX_COMMENT:,} characters; this one is {len(body):,}.")
    with transaction.atomic():
        comment = Comment.objects.create(post=post, author=actor, body=body)
        record(ActivityVerb.COMMENTED, actor=actor, post=post)
    return comment


def post_comments(post: Post) -> QuerySet[Comment]:
    return Comment.objects.filter(post=post).select_related("author").order_by("created_at", "pk")
