"""Sign-in throttling by client IP across usernames, on top of django-axes' lock per username and IP.

django-axes locks a username from one IP after AXES_FAILURE_LIMIT failures. Password spraying (a
few guesses at each of many usernames) never reaches that, so failed sign-ins are also counted
per client IP (shared.client_ip) whatever the username: past SIGN_IN_FAILURES_PER_IP within the
axes cool-off window, that IP's sign-ins are refused, the right password included. Keyed by the
attacker's own IP, so nobody elsewhere can lock a victim out. Counted by shared.rate_counter (fixed
windows in the shared Redis cache); a successful sign-in does not reset it, or an attacker with an
account of their own could clear it between guesses.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest

from shared.client_ip import client_ip
from shared.rate_counter import WindowUsage, window_usage

FAILURES_GROUP = "sign-in-failures-per-ip"


def _failures(request: HttpRequest, *, increment: bool) -> WindowUsage:
    return window_usage(
        group=FAILURES_GROUP,
        key=client_ip(request),
        limit=settings.SIGN_IN_FAILURES_PER_IP,
        period_seconds=max(int(settings.AXES_COOLOFF_TIME * 3600), 1),
        increment=increment,
    )


def too_many_failures_from(request: HttpRequest) -> bool:
    """Whether the request's client IP has used up its failures (reaching the limit closes it)."""
    return _failures(request, increment=False).used_up


# Connected when this module is imported, which loading SprayThrottleBackend (AUTHENTICATION_BACKENDS)
# does before authenticate() can send the signal.
@receiver(user_login_failed)
def count_failure(
    sender: object, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    if request is not None:
        _failures(request, increment=True)


class SprayThrottleBackend:
    """Refuses every sign-in from an IP over its failure budget, before any password is checked.

    It authenticates nobody itself, and has no get_user (as django-axes' backend): sessions belong
    to ModelBackend, and Django's test client picks the first backend with get_user. Setting
    request.axes_locked_out lets django-axes' middleware answer with its lockout page (429), as
    for its own locks.
    """

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> None:
        if request is not None and too_many_failures_from(request):
            request.axes_locked_out = True  # type: ignore[attr-defined]
            raise PermissionDenied("Too many failed sign-ins from this address.")
        return None
