"""The person's time zone for every request: pages, forms (scheduling) and the calendar read and
write times in it (Django's timezone.activate). The zone's name is kept in the session, so a request
reads no extra row: it is put there at sign-in (remember_time_zone, connected to user_logged_in in
accounts.apps), and the settings view refreshes it."""

import zoneinfo
from collections.abc import Callable

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts import selectors

TIME_ZONE_SESSION_KEY = "time_zone"


class UserTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name: str | None = ""
        if request.user.is_authenticated:
            name = request.session.get(TIME_ZONE_SESSION_KEY)
            if name is None:
                name = selectors.time_zone_of(request.user)
                request.session[TIME_ZONE_SESSION_KEY] = name
        try:
            zone = zoneinfo.ZoneInfo(name) if name else None
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = None  # a zone the machine no longer knows: the site's default
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def remember_time_zone(sender: object, request: HttpRequest | None, user: AbstractBaseUser, **kwargs: object) -> None:
    """At sign-in, keep the person's zone in their session, so that no request has to read it."""
    if request is not None and hasattr(request, "session"):
        request.session[TIME_ZONE_SESSION_KEY] = selectors.time_zone_of(user)  # type: ignore[arg-type]
