"""What the header shows on every page: the workspaces to switch between and the current one.

Lazy: an htmx partial that shows no header costs no query for it.
"""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from workspaces.middleware import member_workspaces
from workspaces.roles import allowed_actions


def workspaces(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(request, "workspace"):
        return {}
    current = (
        request.workspace
    )  # lazy (workspaces.middleware), with viewer_role from workspaces_selectors.workspaces_for
    return {
        "current_workspace": current,
        "current_allowed": SimpleLazyObject(lambda: allowed_actions(getattr(current, "viewer_role", None))),
        "switchable_workspaces": SimpleLazyObject(lambda: member_workspaces(request)),
    }
