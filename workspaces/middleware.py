"""Per-request context for the pages: the workspace a signed-in user is working in, as
`request.workspace` (NotMember raised below becomes a 404)."""

from collections.abc import Callable

from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from workspaces import selectors as workspaces_selectors
from workspaces.access import NotMember
from workspaces.models import Workspace
from workspaces.services.workspaces import personal_workspace

SESSION_KEY = "workspace_id"


def member_workspaces(request: HttpRequest) -> list[Workspace]:
    """The user's workspaces (workspaces_selectors.workspaces_for, with viewer_role), read once per request; a new
    user's personal workspace is made here on their first page."""
    cached: list[Workspace] | None = getattr(request, "_member_workspaces", None)
    if cached is not None:
        return cached
    user = request.user
    if not user.is_authenticated:
        return []
    assert isinstance(user, User)
    workspaces = list(workspaces_selectors.workspaces_for(user))
    if not workspaces:
        personal_workspace(user)
        workspaces = list(workspaces_selectors.workspaces_for(user))
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
