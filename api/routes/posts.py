"""Posts: list with filters and a cursor, read, edit the caption, approve or reject, schedule."""

import base64
import binascii
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, Query, Router

from api import reach as reach
from api.auth import READ, WRITE
from api.problems import COMMON_ERRORS, CONFLICT_ERRORS, ParameterError, refusals_are_conflicts
from api.schemas import CaptionIn, InputSchema, PostPage, ScheduleIn
from api.schemas import PostOut as PostSchema
from campaigns import selectors, services
from campaigns.models import GenerationStatus, Post, ReviewStatus
from shared.platforms import Platform

router = Router(tags=["posts"])


class PostFilters(InputSchema):
    campaign_id: int | None = None
    batch_id: int | None = None
    status: GenerationStatus | None = None
    review: ReviewStatus | None = None
    platform: Platform | None = None
    scheduled: bool | None = Field(None, description="true: only scheduled posts; false: only unscheduled ones.")
    cursor: str | None = Field(None, max_length=200, description="The `next_cursor` of the previous page.")
    limit: int = Field(50, ge=1, le=200)


def encode_cursor(post: Post) -> str:
    return base64.urlsafe_b64encode(f"{post.created_at.isoformat()}|{post.pk}".encode()).decode()


class BadCursor(ValueError):
    pass


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        created_at, _, pk = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment, int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadCursor from None


@router.get("/posts", response={200: PostPage, **COMMON_ERRORS}, auth=READ, summary="List posts")
def post_list(request: HttpRequest, filters: Query[PostFilters]) -> dict[str, object]:
    """Newest first. Follow `next_cursor` until it is null: a cursor stays exact while posts are added."""
    posts = selectors.post_list(
        user=reach.actor(request),
        workspace=reach.workspace(request),
        campaign_id=filters.campaign_id,
        batch_id=filters.batch_id,
        status=filters.status or "",
        review=filters.review or "",
        platform=filters.platform or "",
        scheduled=filters.scheduled,
    )
    if filters.cursor:
        try:
            created_at, pk = decode_cursor(filters.cursor)
        except BadCursor:
            raise ParameterError("cursor", "This cursor is not one the API gave.") from None
        posts = posts.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk))
    page = list(posts[: filters.limit + 1])
    more = len(page) > filters.limit
    page = page[: filters.limit]
    return {"items": page, "next_cursor": encode_cursor(page[-1]) if more else None}


@router.get("/posts/{post_id}", response={200: PostSchema, **COMMON_ERRORS}, auth=READ, summary="Read a post")
def post_read(request: HttpRequest, post_id: int) -> Post:
    return reach.post(request, post_id)


@router.patch(
    "/posts/{post_id}", response={200: PostSchema, **CONFLICT_ERRORS}, auth=WRITE, summary="Edit a post's caption"
)
def post_update(request: HttpRequest, post_id: int, payload: CaptionIn) -> Post:
    post = reach.post(request, post_id)
    hashtags = payload.hashtags if payload.hashtags is not None else post.hashtags
    with refusals_are_conflicts():
        return services.post_update(post=post, caption=payload.caption, hashtags=hashtags, actor=reach.actor(request))


def _review(request: HttpRequest, post_id: int, decision: str) -> Post:
    post = reach.post(request, post_id)
    with refusals_are_conflicts():
        return services.post_review(post=post, decision=decision, actor=reach.actor(request))


@router.post(
    "/posts/{post_id}/approve", response={200: PostSchema, **CONFLICT_ERRORS}, auth=WRITE, summary="Approve a post"
)
def post_approve(request: HttpRequest, post_id: int) -> Post:
    return _review(request, post_id, ReviewStatus.APPROVED)


@router.post(
    "/posts/{post_id}/reject", response={200: PostSchema, **CONFLICT_ERRORS}, auth=WRITE, summary="Reject a post"
)
def post_reject(request: HttpRequest, post_id: int) -> Post:
    return _review(request, post_id, ReviewStatus.REJECTED)


@router.put(
    "/posts/{post_id}/schedule",
    response={200: PostSchema, **CONFLICT_ERRORS},
    auth=WRITE,
    summary="Schedule or unschedule a post",
)
def post_schedule(request: HttpRequest, post_id: int, payload: ScheduleIn) -> Post:
    post = reach.post(request, post_id)
    if payload.scheduled_at is not None and payload.scheduled_at.tzinfo is None:
        raise ValidationError({"scheduled_at": "Give the time zone, e.g. 2026-06-01T09:00:00Z."})
    with refusals_are_conflicts():
        try:
            return services.post_schedule(post=post, scheduled_at=payload.scheduled_at, actor=reach.actor(request))
        except ValidationError as error:
            if error.code == "past":  # bad input, not the post's state
                raise ValidationError({"scheduled_at": error.messages}) from None
            raise
