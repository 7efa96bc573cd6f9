"""What a request's token reaches: its user's things in the token's one workspace.

The selectors narrow by membership (what the user sees in any of their workspaces); a token
narrows that to its workspace, so a token made for one workspace never reaches another, even
where its user is a member.
"""

from django.contrib.auth.models import User
from django.http import Http404, HttpRequest

from api.models import ApiToken
from campaigns import selectors
from campaigns.models import BatchJob, Campaign, Post
from exports import selectors as exports_selectors
from exports.models import Export
from workspaces.models import Workspace


def token_of(request: HttpRequest) -> ApiToken:
    token = request.auth  # type: ignore[attr-defined]
    assert isinstance(token, ApiToken)
    return token


def actor(request: HttpRequest) -> User:
    return token_of(request).user


def workspace(request: HttpRequest) -> Workspace:
    return token_of(request).workspace


def _in_workspace(request: HttpRequest, workspace_id: int) -> None:
    if workspace_id != token_of(request).workspace_id:
        raise Http404("Not found.")


def campaign(request: HttpRequest, pk: int) -> Campaign:
    return selectors.visible_campaigns(actor(request), workspace(request)).select_related("workspace").get(pk=pk)


def batch(request: HttpRequest, pk: int) -> BatchJob:
    found = selectors.batch_for(user=actor(request), pk=pk)
    _in_workspace(request, found.campaign.workspace_id)
    return found


def post(request: HttpRequest, pk: int) -> Post:
    found = selectors.post_for(user=actor(request), pk=pk)
    _in_workspace(request, found.campaign.workspace_id)
    return found


def export(request: HttpRequest, pk: int) -> Export:
    found = exports_selectors.export_for(user=actor(request), pk=pk)
    _in_workspace(request, found.campaign.workspace_id)
    return found
