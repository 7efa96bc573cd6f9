"""Who calls: a bearer token, what it may do (read or write), and how often it may call."""

import threading

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import AuthorizationError
from ninja.security import HttpBearer
from ninja.throttling import BaseThrottle

from api import tokens
from api.models import ApiToken
from shared.rate_counter import window_usage


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <token>`. The request then acts as the token's user (request.user),
    through the same selectors and services as the pages, so it can never do more than that user.
    With write=True a read token is refused (403) even when its user could write."""

    def __init__(self, *, write: bool = False) -> None:
        super().__init__()
        self.write = write

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        api_token = tokens.token_authenticate(token)
        if api_token is None:
            return None
        if self.write and not api_token.can_write:
            raise AuthorizationError(message="This token is read-only: make a write token to change things.")
        request.user = api_token.user
        return api_token


READ = TokenAuth()
WRITE = TokenAuth(write=True)


class TokenRateThrottle(BaseThrottle):
    """settings.API_RATE_LIMIT ("120/m": requests per second, minute, hour or day) per token, or
    per client address for a request without a valid token.

    Counted in fixed windows by shared.rate_counter, so every web process and thread counts
    together. django-ninja asks wait() right after allow_request() in the same thread: the seconds
    left in the window travel between the two in a thread-local.
    """

    _PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

    def __init__(self) -> None:
        self._local = threading.local()

    @classmethod
    def parse_rate(cls, rate: str) -> tuple[int, int]:
        count, _, unit = rate.partition("/")
        return int(count), cls._PERIODS[unit[:1]]

    def allow_request(self, request: HttpRequest) -> bool:
        limit, period = self.parse_rate(settings.API_RATE_LIMIT)
        token = getattr(request, "auth", None)
        ident = f"token-{token.pk}" if isinstance(token, ApiToken) else f"ip-{self.get_ident(request)}"
        usage = window_usage(group="api-requests", key=ident, limit=limit, period_seconds=period)
        self._local.wait = usage.seconds_left
        return not usage.exceeded

    def wait(self) -> float | None:
        return getattr(self._local, "wait", None)
