"""Private media: a post's image or thumbnail, for those who may see the post (404 for anyone else)."""

from django.http.response import HttpResponseBase
from django.views.decorators.http import require_safe

from campaigns import selectors
from shared.http import login_required
from shared.media import deliver
from workspaces.view_access import AuthenticatedHttpRequest, owned_or_404


@login_required
@require_safe
def media_file(request: AuthenticatedHttpRequest, name: str) -> HttpResponseBase:
    owned_or_404(selectors.post_with_file, user=request.user, name=name)
    return deliver(name)
