"""The batch progress panel: its template, and how long it waits before asking again.

The panel polls its own URL (hx-trigger="every Ns") and every answer replaces it, so each answer
sets the next wait: 1 s while posts arrive; while the counters stand still (a queued batch, a
slow provider), twice the last wait, up to POLL_MAX_SECONDS. The answer for an ended batch has no
trigger, which stops the polling, and a hidden tab asks nothing (static/js/app.js).
"""

from django.http import QueryDict

PROGRESS_PANEL = "campaigns/partials/batch_progress.html"
POLL_SECONDS = 1
POLL_MAX_SECONDS = 5


def seen_done_count(query: QueryDict) -> int | None:
    """The done count the asking panel showed (its "seen" value), or None if it sent no number."""
    return _whole_number(query.get("seen"))


def next_poll_seconds(*, done_count: int, query: QueryDict) -> int:
    """The wait before the panel asks again, from what it showed and how long it last waited."""
    seen, waited = seen_done_count(query), _whole_number(query.get("wait"))
    if seen is None or waited is None or done_count != seen:
        return POLL_SECONDS
    return min(max(waited, POLL_SECONDS) * 2, POLL_MAX_SECONDS)


def _whole_number(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None
