"""Who may open a page: every page needs a signed-in user, and a marketer's things are theirs only."""

from collections.abc import Callable
from functools import wraps
from typing import TypeVar
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required as django_login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect

T = TypeVar("T")


def login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Django's login_required, except that an htmx request (a poll, a card action) whose session
    has ended sends the whole browser tab to the sign-in page instead of swapping it into a card."""
    protected = django_login_required(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.htmx and not request.user.is_authenticated:
            back = request.htmx.current_url_abs_path or "/"
            return HttpResponseClientRedirect(f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': back})}")
        return protected(request, *args, **kwargs)

    return wrapper


def owned_or_404(lookup: Callable[..., T], **kwargs) -> T:
    """Call a selector's ownership lookup (campaign_for, batch_for, post_for); missing or not
    the user's answers 404 alike, so nobody learns that someone else's id exists."""
    try:
        return lookup(**kwargs)
    except ObjectDoesNotExist:
        raise Http404("Not found") from None
