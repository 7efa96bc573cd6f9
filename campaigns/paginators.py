from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

from campaigns.models import Post

# Counting more than this many rows costs more than it tells; above it we say "10,000+".
COUNT_LIMIT = 10_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class BoundedCountPaginator(Paginator):
    """A paginator that never counts a whole large table.

    It counts at most COUNT_LIMIT + 1 rows (SELECT COUNT(*) FROM (... LIMIT n)), which an
    index answers in milliseconds; beyond that the last page number is an estimate and
    `count_is_bounded` tells templates to say "10,000+".
    """

    object_list: QuerySet[Any]  # the admin's change lists, its only users, page querysets

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: COUNT_LIMIT + 1].count()

    @property
    def count_is_bounded(self) -> bool:
        return self.count > COUNT_LIMIT

    @property
    def display_count(self) -> str:
        """The count for people: "1,234", or "10,000+" past the limit."""
        return f"{COUNT_LIMIT:,}+" if self.count_is_bounded else f"{self.count:,}"


@dataclass(frozen=True)
class KeysetPage:
    """One page of newest-first rows, and the cursor of the next page ("" at the end)."""

    items: list[Post]
    after: str
    next_cursor: str

    @property
    def is_first(self) -> bool:
        return not self.after


def _cursor_of(row: Post) -> str:
    delta = row.created_at - EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{micros}-{row.pk}"


def _parse_cursor(cursor: str) -> tuple[datetime, int] | None:
    try:
        micros, pk = (int(part) for part in cursor.split("-", 1))
        if micros < 0 or pk < 1:
            return None
        return EPOCH + timedelta(microseconds=micros), pk
    except (ValueError, OverflowError):
        return None


def keyset_page(queryset: QuerySet[Post], *, after: str = "", size: int) -> KeysetPage:
    """The page of `queryset` (ordered by -created_at, -id) that follows the cursor `after`.

    One query, whatever the table's size: it reads size + 1 rows from where the cursor points
    (an index on created_at answers it) and never counts. A cursor that does not parse gives
    the first page.
    """
    position = _parse_cursor(after) if after else None
    if position:
        created_at, pk = position
        queryset = queryset.filter(created_at__lte=created_at).exclude(created_at=created_at, pk__gte=pk)
    rows = list(queryset.order_by("-created_at", "-id")[: size + 1])
    items = rows[:size]
    next_cursor = _cursor_of(items[-1]) if len(rows) > size else ""
    return KeysetPage(items=items, after=after if position else "", next_cursor=next_cursor)
