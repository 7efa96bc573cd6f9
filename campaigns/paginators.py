from django.core.paginator import Paginator
from django.utils.functional import cached_property

# Counting more than this many rows costs more than it tells; above it we say "10,000+".
COUNT_LIMIT = 10_000


class BoundedCountPaginator(Paginator):
    """A paginator that never counts a whole large table.

    It counts at most COUNT_LIMIT + 1 rows (SELECT COUNT(*) FROM (... LIMIT n)), which an
    index answers in milliseconds; beyond that the last page number is an estimate and
    `count_is_bounded` tells templates to say "10,000+".
    """

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
