"""Who may open a page: every page needs a signed-in user, who sees the things of their workspaces only."""

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model
from django.http import Http404

from shared.http import HtmxHttpRequest
from workspaces.models import Workspace
from workspaces.roles import allowed_actions

T = TypeVar("T")


class AuthenticatedHttpRequest(HtmxHttpRequest):
    """What a view behind login_required receives: its user is signed in, never AnonymousUser."""

    user: User
    workspace: Workspace  # workspaces.middleware.WorkspaceMiddleware: the one chosen in the header


def owned_or_404(lookup: Callable[..., T], **kwargs: Any) -> T:
    """Call a selector's membership lookup (campaign_for, batch_for, post_for); missing or in
    a workspace the user isn't a member of answers 404 alike, so nobody learns that the id exists."""
    try:
        return lookup(**kwargs)
    except ObjectDoesNotExist:
        raise Http404("Not found") from None


def allowed_on(thing: Model) -> dict[str, bool]:
    """{action: allowed} for the viewer's role on a campaign, batch or post from selectors.campaign_for,
    batch_for, post_for or batch_progress (their `viewer_role`): templates hide what the services would refuse."""
    return allowed_actions(getattr(thing, "viewer_role", None))
