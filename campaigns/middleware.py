"""The workspace a signed-in user is working in, as `request.workspace`, and NotMember as a 404."""

from collections.abc import Callable

from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from campaigns import selectors
from campaigns.access import NotMember
from campaigns.models import Workspace
from campaigns.workspaces import personal_workspace

SESSION_KEY = "workspace_id"


def current_workspace(request: HttpRequest) -> Workspace | None:
    """The workspace chosen in the header (kept in the session) if the user is still a member of it,
    else their first: their personal one, made on first use. None for someone not signed in."""
    user = request.user
    if not user.is_authenticated:
        return None
    assert isinstance(user, User)
    workspaces = selectors.workspaces_for(user)
    chosen = request.session.get(SESSION_KEY)
    if isinstance(chosen, int):
        workspace = workspaces.filter(pk=chosen).first()
        if workspace is not None:
            return workspace
    return workspaces.first() or personal_workspace(user)


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
