"""Every API endpoint for every role: the token does what its user's role in its workspace allows
(workspaces.roles), 403 otherwise, and nothing outside its workspace (404)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import BatchJob, BatchStatus, GenerationStatus, Post
from exports.models import Export
from tests.api_support import call, make_token
from tests.factories import BatchFactory, CampaignFactory, MembershipFactory, PostFactory, UserFactory, WorkspaceFactory
from workspaces.roles import Action, Role, can

pytestmark = pytest.mark.django_db


def _future() -> str:
    return (timezone.now() + timedelta(days=3)).isoformat()


# (name, method, path, body, the action it needs, its success status). Paths name the fixtures' objects.
ENDPOINTS = [
    ("list campaigns", "GET", "/campaigns", None, Action.VIEW, 200),
    (
        "create campaign",
        "POST",
        "/campaigns",
        {"name": "New", "brief": "b", "platforms": ["x"]},
        Action.EDIT_CAMPAIGN,
        201,
    ),
    ("read campaign", "GET", "/campaigns/{campaign}", None, Action.VIEW, 200),
    ("update campaign", "PATCH", "/campaigns/{campaign}", {"tone": "dry"}, Action.EDIT_CAMPAIGN, 200),
    ("start batch", "POST", "/campaigns/{campaign}/batches", {"count": 2}, Action.START_BATCH, 201),
    ("read batch", "GET", "/batches/{running}", None, Action.VIEW, 200),
    ("cancel batch", "POST", "/batches/{running}/cancel", None, Action.CANCEL_BATCH, 200),
    ("retry failed", "POST", "/batches/{ended}/retry-failed", None, Action.START_BATCH, 200),
    ("list posts", "GET", "/posts", None, Action.VIEW, 200),
    ("read post", "GET", "/posts/{post}", None, Action.VIEW, 200),
    ("edit caption", "PATCH", "/posts/{post}", {"caption": "New words"}, Action.EDIT_POST, 200),
    ("approve", "POST", "/posts/{post}/approve", None, Action.REVIEW, 200),
    ("reject", "POST", "/posts/{post}/reject", None, Action.REVIEW, 200),
    ("schedule", "PUT", "/posts/{post}/schedule", {"scheduled_at": "FUTURE"}, Action.SCHEDULE, 200),
    ("export", "POST", "/exports", {"campaign_id": "{campaign}"}, Action.EXPORT, 201),
    ("export zip", "POST", "/exports", {"campaign_id": "{campaign}", "format": "zip"}, Action.EXPORT, 201),
    ("read zip export", "GET", "/exports/{export}", None, Action.VIEW, 200),
    ("usage", "GET", "/usage", None, Action.VIEW, 200),
]


@pytest.fixture
def team():
    """A team workspace with a campaign, a running batch, an ended batch with a failure and a post."""
    workspace = WorkspaceFactory()
    creator = UserFactory()
    MembershipFactory(workspace=workspace, user=creator, role=Role.OWNER)
    campaign = CampaignFactory(owner=creator, workspace=workspace, platforms=["x"])
    running = BatchFactory(campaign=campaign, status=BatchStatus.RUNNING, requested_count=1)
    PostFactory(campaign=campaign, batch=running, status=GenerationStatus.PENDING, sequence=0)
    ended = BatchFactory(campaign=campaign, status=BatchStatus.PARTIALLY_FAILED, requested_count=2, failed_count=1)
    PostFactory(campaign=campaign, batch=ended, status=GenerationStatus.FAILED, sequence=0)
    post = PostFactory(campaign=campaign, platform="x")
    export = Export.objects.create(campaign=campaign, requested_by=creator, download_name="team.zip")
    return {
        "workspace": workspace,
        "campaign": campaign,
        "running": running,
        "ended": ended,
        "post": post,
        "export": export,
    }


def _request(team, path: str, body):
    ids = {name: team[name].pk for name in ("campaign", "running", "ended", "post", "export")}
    path = path.format(**ids)
    if isinstance(body, dict):
        body = {
            key: (ids["campaign"] if value == "{campaign}" else _future() if value == "FUTURE" else value)
            for key, value in body.items()
        }
    return path, body


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(
    ("name", "method", "path", "body", "action", "success"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS]
)
def test_every_endpoint_for_every_role(client, team, role, name, method, path, body, action, success):
    member = UserFactory()
    MembershipFactory(workspace=team["workspace"], user=member, role=role)
    token = make_token(member, "write", workspace=team["workspace"])
    path, body = _request(team, path, body)
    response = call(client, method, path, token, body)
    expected = success if can(role, action) else 403
    assert response.status_code == expected, (role, name, response.content[:300])
    if expected == 403:
        assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("name", "method", "path", "body", "action", "success"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS]
)
def test_a_token_reaches_nothing_outside_its_workspace(client, team, name, method, path, body, action, success):
    """Its user owns another workspace: the token, made for that one, still sees nothing of the team's."""
    outsider = UserFactory()
    elsewhere = WorkspaceFactory()
    MembershipFactory(workspace=elsewhere, user=outsider, role=Role.OWNER)
    token = make_token(outsider, "write", workspace=elsewhere)
    path, body = _request(team, path, body)
    response = call(client, method, path, token, body)
    if "{" in ENDPOINTS[[e[0] for e in ENDPOINTS].index(name)][2] or name in ("export", "export zip"):
        assert response.status_code == 404, (name, response.content[:300])
    else:
        assert response.status_code == success
        if method == "GET" and name != "usage":
            items = response.json() if name == "list campaigns" else response.json()["items"]
            assert items == []


def test_a_token_made_for_one_workspace_does_not_reach_its_users_other_workspace(client, team):
    """Even where its user is an owner: a token acts in its own workspace only."""
    member = UserFactory()
    MembershipFactory(workspace=team["workspace"], user=member, role=Role.OWNER)
    own = WorkspaceFactory()
    MembershipFactory(workspace=own, user=member, role=Role.OWNER)
    token = make_token(member, "write", workspace=own)
    assert call(client, "GET", f"/campaigns/{team['campaign'].pk}", token).status_code == 404
    assert call(client, "POST", f"/posts/{team['post'].pk}/approve", token).status_code == 404
    assert call(client, "GET", "/campaigns", token).json() == []


def test_a_token_follows_its_users_role_as_it_changes(client, team):
    member = UserFactory()
    membership = MembershipFactory(workspace=team["workspace"], user=member, role=Role.EDITOR)
    token = make_token(member, "write", workspace=team["workspace"])
    path = f"/campaigns/{team['campaign'].pk}/batches"
    assert call(client, "POST", path, token, {"count": 1}).status_code == 201
    membership.role = Role.VIEWER
    membership.save()
    assert call(client, "POST", path, token, {"count": 1}).status_code == 403
    membership.delete()
    assert call(client, "GET", "/campaigns", token).status_code == 401
    assert BatchJob.objects.filter(campaign=team["campaign"]).count() == 3
    assert Post.objects.filter(campaign=team["campaign"]).count() == 4
