"""Sign-in throttling by client IP across usernames, on top of django-axes' lock per username and IP.

django-axes locks a username from one IP after AXES_FAILURE_LIMIT failures. Password spraying (a
few guesses at each of many usernames) never reaches that, so failed sign-ins are also counted
per client IP (shared.client_ip) whatever the username: past SIGN_IN_FAILURES_PER_IP within the
axes cool-off window, that IP's sign-ins are refused, the right password included. Keyed by the
attacker's own IP, so nobody elsewhere can lock a victim out. Counted in the shared Redis cache by
django-ratelimit (fixed windows); a successful sign-in does not reset it, or an attacker with an
account of their own could clear it between guesses.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest
from django_ratelimit import ALL
from django_ratelimit.core import get_usage

from shared.client_ip import client_ip

FAILURES_GROUP = "sign-in-failures-per-ip"


def _ip_key(group: str, request: HttpRequest) -> str:
    return client_ip(request)


def _failures_rate(group: str, request: HttpRequest) -> str:
    window = max(int(settings.AXES_COOLOFF_TIME * 3600), 1)
    return f"{settings.SIGN_IN_FAILURES_PER_IP}/{window}s"


def too_many_failures_from(request: HttpRequest) -> bool:
    """Whether the request's client IP has used up its failures (reaching the limit closes it)."""
    usage = get_usage(request, group=FAILURES_GROUP, key=_ip_key, rate=_failures_rate, method=ALL, increment=False)
    return usage is not None and usage["count"] >= usage["limit"]


# Connected when this module is imported, which loading SprayThrottleBackend (AUTHENTICATION_BACKENDS)
# does before authenticate() can send the signal.
@receiver(user_login_failed)
def count_failure(
    sender: object, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    if request is not None:
        get_usage(request, group=FAILURES_GROUP, key=_ip_key, rate=_failures_rate, method=ALL, increment=True)


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
