"""Per-request context for the pages: the workspace a signed-in user is working in, as
`request.workspace` (NotMember raised below becomes a 404), and the person's time zone.

The time zone: pages, forms (scheduling) and the calendar read and write times in it (Django's
timezone.activate). The zone's name is kept in the session, so a request reads no extra row: it is
put there at sign-in (remember_time_zone, connected to user_logged_in in campaigns.apps), and the
settings view refreshes it."""

import zoneinfo
from collections.abc import Callable

from django.contrib.auth.models import AbstractBaseUser, User
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from campaigns import selectors
from campaigns.access import NotMember
from campaigns.models import Workspace
from campaigns.workspaces import personal_workspace

SESSION_KEY = "workspace_id"
TIME_ZONE_SESSION_KEY = "time_zone"


def member_workspaces(request: HttpRequest) -> list[Workspace]:
    """The user's workspaces (selectors.workspaces_for, with viewer_role), read once per request; a new
    user's personal workspace is made here on their first page."""
    cached: list[Workspace] | None = getattr(request, "_member_workspaces", None)
    if cached is not None:
        return cached
    user = request.user
    if not user.is_authenticated:
        return []
    assert isinstance(user, User)
    workspaces = list(selectors.workspaces_for(user))
    if not workspaces:
        personal_workspace(user)
        workspaces = list(selectors.workspaces_for(user))
    request._member_workspaces = workspaces  # type: ignore[attr-defined]
    return workspaces


def current_workspace(request: HttpRequest) -> Workspace | None:
    """The workspace chosen in the header (kept in the session) if the user is still a member of it,
    else their first: their personal one. None for someone not signed in."""
    workspaces = member_workspaces(request)
    chosen = request.session.get(SESSION_KEY)
    return next((w for w in workspaces if w.pk == chosen), workspaces[0] if workspaces else None)


class WorkspaceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Lazy: only pages that use it pay the query.
        request.workspace = SimpleLazyObject(lambda: current_workspace(request))  # type: ignore[attr-defined]
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # A service refused a non-member: to them the thing doesn't exist, as when a selector finds nothing.
        if isinstance(exception, NotMember):
            raise Http404("Not found") from exception
        return None


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
