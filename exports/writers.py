"""Exports of a campaign's posts: a CSV a scheduling tool can import, and a ZIP with the images.

The same functions serve the campaign page, the admin action and the export_posts command.
Cells that a spreadsheet would run as a formula (=, +, -, @, tab, carriage return) get a
leading apostrophe, so an export never carries a formula injection.
"""

import csv
import io
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import PurePosixPath
from typing import IO, Any

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from campaigns import quotas, selectors
from campaigns.models import Campaign, Post, ReviewStatus
from workspaces.access import check_allowed
from workspaces.roles import Action

CSV_COLUMNS = (
    "post_id",
    "campaign",
    "platform",
    "status",
    "review_status",
    "caption",
    "hashtags",
    "text",
    "image_file",
    "scheduled_at",
    "created_at",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def allow_export(*, campaign: Campaign, actor: User | None) -> None:
    """Refuse unless `actor` may export the campaign's posts and their EXPORTS_PER_MINUTE has room
    (campaigns.quotas: a ValidationError says when it will). Every export, CSV or ZIP, starts here."""
    check_allowed(actor, campaign.workspace, Action.EXPORT)
    quotas.take_export(user=actor)


def exportable_posts(campaign: Campaign, filters: dict[str, Any]) -> QuerySet[Post]:
    """The campaign's posts filtered as on its page. Where the workspace requires approval, only
    approved posts leave: an export is what goes out."""
    posts = selectors.campaign_posts(campaign, **filters)
    return posts.filter(review_status=ReviewStatus.APPROVED) if campaign.workspace.approval_required else posts


def posts_to_export(*, campaign: Campaign, actor: User | None, filters: dict[str, Any]) -> QuerySet[Post]:
    """The posts a CSV export streams, once allow_export lets it."""
    allow_export(campaign=campaign, actor=actor)
    return exportable_posts(campaign, filters)


def neutralize(value: object) -> str:
    """A cell value safe to open in a spreadsheet."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def image_file_name(post: Post) -> str:
    """The name of a post's image inside the ZIP: platform, id and a stable extension."""
    if not post.image:
        return ""
    suffix = PurePosixPath(post.image.name).suffix or ".jpg"
    return f"images/{post.platform}-{post.pk}{suffix}"


def _row(post: Post) -> list[str]:
    hashtags = " ".join(post.hashtags or [])
    text = post.caption + (f"\n\n{hashtags}" if hashtags else "")
    values = (
        post.pk,
        post.campaign.name,
        post.platform,
        post.status,
        post.review_status,
        post.caption,
        hashtags,
        text,
        image_file_name(post),
        timezone.localtime(post.scheduled_at).isoformat() if post.scheduled_at else "",
        timezone.localtime(post.created_at).isoformat(),
    )
    return [neutralize(value) for value in values]


def _export_posts(posts: Iterable[Post]) -> Iterator[Post]:
    if hasattr(posts, "select_related"):
        posts = posts.select_related("campaign").iterator(chunk_size=500)
    yield from posts


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def csv_lines(posts: Iterable[Post]) -> Iterator[str]:
    """The CSV export line by line (for StreamingHttpResponse): a header, then one row per post."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(CSV_COLUMNS)  # the BOM makes Excel read UTF-8
    for post in _export_posts(posts):
        yield writer.writerow(_row(post))


def write_csv(posts: Iterable[Post], stream: io.TextIOBase) -> int:
    """Write the CSV export to a text stream; return the number of posts."""
    count = -1
    for count, line in enumerate(csv_lines(posts)):  # noqa: B007 - the count is the point
        stream.write(line)
    return max(count, 0)


def write_zip(
    posts: Iterable[Post],
    target: str | os.PathLike[str] | IO[bytes],
    *,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write posts.csv and the posts' images into a ZIP (target: a path or a binary file).

    `on_progress(done, total)` is called after each post's image (an export job reports it).
    """
    rows = list(_export_posts(posts))
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("posts.csv", "".join(csv_lines(rows)))
        for done, post in enumerate(rows, start=1):
            name = image_file_name(post)
            if name:
                try:
                    with post.image.open("rb") as image:
                        # JPEGs are already compressed: store them as they are.
                        archive.writestr(name, image.read(), compress_type=zipfile.ZIP_STORED)
                except FileNotFoundError:
                    pass
            if on_progress:
                on_progress(done, len(rows))
    return len(rows)
