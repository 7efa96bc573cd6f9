"""campaigns.progress_panel: how long the live panel waits before it asks again."""

import pytest
from django.http import QueryDict

from campaigns.progress_panel import POLL_MAX_SECONDS, POLL_SECONDS, next_poll_seconds, seen_done_count


@pytest.mark.parametrize(
    ("done_count", "query", "wait"),
    [
        (7, "", POLL_SECONDS),  # the first ask, or a panel from an older page
        (7, "seen=6&wait=4", POLL_SECONDS),  # posts arrived
        (7, "seen=8&wait=4", POLL_SECONDS),  # counters moved back (a retry): it moved
        (7, "seen=7&wait=1", 2),
        (7, "seen=7&wait=2", 4),
        (7, "seen=7&wait=4", POLL_MAX_SECONDS),
        (7, "seen=7&wait=5", POLL_MAX_SECONDS),
        (7, "seen=7&wait=100000", POLL_MAX_SECONDS),  # typed by hand: capped
        (7, "seen=7&wait=-3", 2),
        (7, "seen=7", POLL_SECONDS),
        (7, "seen=7&wait=soon", POLL_SECONDS),
        (7, "seen=x&wait=2", POLL_SECONDS),
    ],
)
def test_next_poll_seconds(done_count, query, wait):
    assert next_poll_seconds(done_count=done_count, query=QueryDict(query)) == wait


def test_seen_done_count_is_a_whole_number_or_nothing():
    assert [seen_done_count(QueryDict(q)) for q in ("seen=3", "seen=", "seen=3.5", "")] == [3, None, None, None]
