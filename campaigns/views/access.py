"""Who may open a page: every page needs a signed-in user, who sees the things of their workspaces only."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required as django_login_required
from django.contrib.auth.models import User
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from campaigns.models import Workspace
from campaigns.roles import allowed_actions

T = TypeVar("T")


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it: `request.htmx` says what htmx asked for."""

    htmx: HtmxDetails


class AuthenticatedHttpRequest(HtmxHttpRequest):
    """What a view behind login_required receives: its user is signed in, never AnonymousUser."""

    user: User
    workspace: Workspace  # campaigns.middleware.WorkspaceMiddleware: the one chosen in the header


def login_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Django's login_required, except that an htmx request (a poll, a card action) whose session
    has ended sends the whole browser tab to the sign-in page instead of swapping it into a card."""
    protected = django_login_required(view)

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.htmx and not request.user.is_authenticated:
            back = request.htmx.current_url_abs_path or "/"
            return HttpResponseClientRedirect(f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': back})}")
        return protected(request, *args, **kwargs)

    return wrapper


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
