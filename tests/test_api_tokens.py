"""Tokens in workspaces: who makes, sees and revokes them; create_api_token --workspace; webhook pages."""

import pytest
from django.core.management import call_command

from api.models import ApiToken
from api.tokens import hash_token
from tests.api_support import call, make_token
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.support import run_manage
from workspaces.roles import Role

pytestmark = pytest.mark.django_db


def in_workspace(client, user, workspace):
    client.force_login(user)
    session = client.session
    session["workspace_id"] = workspace.pk
    session.save()
    return client


@pytest.fixture
def team():
    workspace = WorkspaceFactory(slug="acme-agency")
    owner, editor = UserFactory(), UserFactory()
    MembershipFactory(workspace=workspace, user=owner, role=Role.OWNER)
    MembershipFactory(workspace=workspace, user=editor, role=Role.EDITOR)
    return workspace, owner, editor


def test_an_owner_sees_and_revokes_every_members_token_and_a_member_only_their_own(client, team):
    workspace, owner, editor = team
    make_token(editor, workspace=workspace)
    editors = ApiToken.objects.get(user=editor)
    make_token(owner, workspace=workspace)
    owners = ApiToken.objects.get(user=owner)

    page = in_workspace(client, editor, workspace).get("/settings/api-tokens/").content.decode()
    assert editors.prefix in page and owners.prefix not in page
    assert client.post(f"/settings/api-tokens/{owners.pk}/revoke/").status_code == 404
    assert client.get("/settings/webhooks/").status_code == 403

    page = in_workspace(client, owner, workspace).get("/settings/api-tokens/").content.decode()
    assert editors.prefix in page and owners.prefix in page
    assert client.post(f"/settings/api-tokens/{editors.pk}/revoke/").status_code == 302
    editors.refresh_from_db()
    assert editors.revoked_at is not None
    assert client.get("/settings/webhooks/").status_code == 200


def test_a_token_made_on_the_page_belongs_to_the_current_workspace(client, team):
    workspace, _owner, editor = team
    response = in_workspace(client, editor, workspace).post("/settings/api-tokens/", {"name": "n8n", "access": "read"})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=editor)
    assert token.workspace == workspace and token.access == "read"
    assert token.prefix in response.content.decode()


def test_create_api_token_makes_a_token_for_the_named_workspace(client, team, capsys):
    workspace, _owner, editor = team
    call_command("create_api_token", editor.username, "--workspace", "acme-agency", "--access", "write")
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    token = ApiToken.objects.get(key_hash=hash_token(secret))
    assert token.workspace == workspace and token.user == editor
    assert call(client, "GET", "/usage", secret).json()["workspace"] == workspace.name


@pytest.mark.django_db(transaction=True)  # the command runs in another process
@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (["--workspace", "acme-agency"], "CommandError: {user} is not a member of the workspace 'acme-agency'"),
        (["--workspace", "nowhere"], "CommandError: no workspace with slug or id 'nowhere'"),
        (
            ["--access", "admin"],
            "CommandError: argument --access/--scope: invalid choice: 'admin' (choose from 'read', 'write')",
        ),
    ],
)
def test_create_api_token_refuses_in_one_line(team, arguments, error):
    outsider = UserFactory()
    result = run_manage("create_api_token", outsider.username, *arguments)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(error.format(user=outsider.username))
    assert not ApiToken.objects.exists()
