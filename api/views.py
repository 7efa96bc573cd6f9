"""A member's API tokens page: make a token (shown once), see when each was last used, revoke one."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from api import tokens
from api.forms import TokenForm
from api.models import ApiToken
from exports.calendar_feed import calendar_feed_path_of
from shared.http import login_required
from workspaces.models import Workspace
from workspaces.roles import Action, can
from workspaces.selectors import membership_of
from workspaces.view_access import AuthenticatedHttpRequest, owned_or_404


def _page(request: AuthenticatedHttpRequest, form: TokenForm, **context: object) -> HttpResponse:
    workspace: Workspace = request.workspace
    membership = membership_of(request.user, workspace)
    manages = membership is not None and can(membership.role, Action.MANAGE_WORKSPACE)
    calendar_path = calendar_feed_path_of(request.user)  # the person's own feed, whichever workspace
    context = {
        "form": form,
        "workspace": workspace,
        "manages_workspace": manages,
        "tokens": tokens.tokens_of(request.user, workspace),
        "calendar_url": request.build_absolute_uri(calendar_path) if calendar_path else "",
        "nav": "api",
        **context,
    }
    return render(request, "api/tokens.html", context)


@login_required
@never_cache  # the page that shows a new token must not be kept by any cache
@require_http_methods(["GET", "POST"])
def token_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request, TokenForm())
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            made = tokens.token_create(user=request.user, workspace=request.workspace, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            # Rendered, not redirected: the secret is in this one response and nowhere else.
            return _page(request, TokenForm(), new_token=made.token, new_secret=made.secret)
    return _page(request, form)


@login_required
@require_POST
def token_revoke(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    token: ApiToken = owned_or_404(tokens.token_revoke, actor=request.user, workspace=request.workspace, pk=pk)
    messages.success(request, f"Token “{token.name}” revoked: requests with it are refused from now on.")
    return redirect("api:tokens")
