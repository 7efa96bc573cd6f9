"""One way to count uses in a fixed time window, shared by every process and thread.

The API's per-token rate, the per-user limits (regenerations, exports), sign-in failures per
client IP and password resets all count here, with django-ratelimit's counter: one atomic INCR in
the default cache (Redis). Each key's window is `period_seconds` long; django-ratelimit staggers
the windows' edges from key to key and says how many seconds are left in the current one. A cache
that fails to count refuses (fails closed), as django-ratelimit does, never with a server error.
"""

from dataclasses import dataclass

from django_ratelimit import ALL
from django_ratelimit.core import get_usage


@dataclass(frozen=True)
class WindowUsage:
    count: int  # uses in this window, this one included when it was counted
    limit: int
    seconds_left: int  # until the window ends and the count starts again
    exceeded: bool  # over the limit (or not countable): refuse

    @property
    def used_up(self) -> bool:
        """No use left: the next one would be over the limit."""
        return self.exceeded or self.count >= self.limit


def window_usage(*, group: str, key: str, limit: int, period_seconds: int, increment: bool = True) -> WindowUsage:
    """Count one use of `key` in `group` (with increment=True) and say where the window stands."""
    usage = get_usage(
        None,
        group=group,
        key=lambda _group, _request: key,
        rate=f"{limit}/{period_seconds}s",
        method=ALL,
        increment=increment,
    )
    if usage is None:  # RATELIMIT_ENABLE is off: nothing is counted
        return WindowUsage(count=0, limit=limit, seconds_left=0, exceeded=False)
    return WindowUsage(
        count=usage["count"],
        limit=limit,
        seconds_left=max(usage["time_left"], 1),
        exceeded=usage["should_limit"],
    )
