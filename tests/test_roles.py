"""Workspaces and roles: every cell of the role × action table through the real services, and the
pages' answers: 404 for a non-member, 403 for a member whose role can't."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from campaigns import selectors, services
from campaigns.models import BatchJob, BatchStatus, Campaign, Comment, GenerationStatus, Post, ReviewStatus
from campaigns.services.comments import comment_create
from exports.writers import posts_to_export
from tests.factories import BatchFactory, CampaignFactory, MembershipFactory, PostFactory, UserFactory, WorkspaceFactory
from workspaces import selectors as workspaces_selectors
from workspaces.access import NotMember, require
from workspaces.roles import ROLE_ACTIONS, Action, Role, can
from workspaces.services.members import member_change_role
from workspaces.services.workspaces import personal_workspace, workspace_update


@pytest.fixture
def team(db):
    """A team workspace with a campaign, a queued batch and a finished post, and one member per role."""
    workspace = WorkspaceFactory(name="Acme marketing")
    members = {role: MembershipFactory(workspace=workspace, role=role).user for role in Role}
    campaign = CampaignFactory(workspace=workspace, owner=members[Role.EDITOR], name="Acme launch")
    batch = BatchFactory(campaign=campaign, requested_count=1, status=BatchStatus.QUEUED)
    post = PostFactory(campaign=campaign, platform="x", caption="Ready.")
    return workspace, members, campaign, batch, post


def act(action: Action, user, workspace, campaign, batch, post) -> None:
    """Do `action` as `user` through the service that does it (raises if refused)."""
    tomorrow = timezone.now() + timedelta(days=1)
    match action:
        case Action.VIEW:
            selectors.campaign_for(user=user, pk=campaign.pk)
            selectors.post_for(user=user, pk=post.pk)
            require(user, workspace, action)
        case Action.EDIT_CAMPAIGN:
            services.campaign_update(campaign=campaign, actor=user, tone="calm")
        case Action.START_BATCH:
            services.batch_start(campaign=campaign, count=1, actor=user, enqueue=False)
        case Action.CANCEL_BATCH:
            services.batch_cancel(batch=batch, actor=user)
        case Action.EDIT_POST:
            services.post_update(post=post, caption="Edited.", hashtags=[], actor=user)
        case Action.REGENERATE:
            services.post_regenerate(post=post, part="caption", actor=user)
        case Action.REVIEW:
            services.post_review(post=post, decision=ReviewStatus.APPROVED, actor=user)
        case Action.SCHEDULE:
            services.post_schedule(post=post, scheduled_at=tomorrow, actor=user)
        case Action.DELETE_POST:
            services.post_delete(post=post, actor=user)
        case Action.EXPORT:
            list(posts_to_export(campaign=campaign, actor=user, filters={}))
        case Action.MANAGE_WORKSPACE:
            workspace_update(workspace=workspace, actor=user, approval_required=True)
        case Action.COMMENT:
            comment_create(post=post, actor=user, body="Looks good.")
        case Action.MANAGE_MEMBERS:
            viewer = workspace.memberships.get(role=Role.VIEWER)
            member_change_role(membership=viewer, actor=user, role=Role.EDITOR)
        case _:
            raise AssertionError(f"no service for {action} in this test")


def effect(action: Action, workspace, campaign, batch, post) -> bool:
    """Whether the action's write happened (read back from the database)."""
    match action:
        case Action.EDIT_CAMPAIGN:
            return Campaign.objects.get(pk=campaign.pk).tone == "calm"
        case Action.START_BATCH:
            return BatchJob.objects.filter(campaign=campaign).count() == 2
        case Action.CANCEL_BATCH:
            return BatchJob.objects.get(pk=batch.pk).status == BatchStatus.CANCELED
        case Action.EDIT_POST:
            return Post.objects.get(pk=post.pk).caption == "Edited."
        case Action.REGENERATE:
            return Post.objects.get(pk=post.pk).status == GenerationStatus.PENDING
        case Action.REVIEW:
            return Post.objects.get(pk=post.pk).review_status == ReviewStatus.APPROVED
        case Action.SCHEDULE:
            return Post.objects.get(pk=post.pk).scheduled_at is not None
        case Action.DELETE_POST:
            return not Post.objects.filter(pk=post.pk).exists()
        case Action.MANAGE_WORKSPACE:
            workspace.refresh_from_db()
            return workspace.approval_required
        case Action.COMMENT:
            return Comment.objects.filter(post=post).exists()
        case Action.MANAGE_MEMBERS:
            return not workspace.memberships.filter(role=Role.VIEWER).exists()
    return False  # reads (view, export) change nothing


READS = {Action.VIEW, Action.EXPORT}
CELLS = [(role, action) for role in Role for action in Action]


@pytest.mark.parametrize(("role", "action"), CELLS, ids=[f"{role.value}-{action.value}" for role, action in CELLS])
def test_every_role_action_cell_through_the_services(team, role, action):
    workspace, members, campaign, batch, post = team
    user = members[role]
    if can(role, action):
        act(action, user, workspace, campaign, batch, post)
        assert effect(action, workspace, campaign, batch, post) or action in READS
    else:
        with pytest.raises(PermissionDenied):
            act(action, user, workspace, campaign, batch, post)
        assert not effect(action, workspace, campaign, batch, post)


@pytest.mark.parametrize("action", list(Action))
def test_a_non_member_is_refused_every_action_as_if_nothing_existed(team, action):
    workspace, _members, campaign, batch, post = team
    outsider = CampaignFactory().owner  # a marketer with a workspace of their own
    with pytest.raises((NotMember, Campaign.DoesNotExist)):
        act(action, outsider, workspace, campaign, batch, post)
    assert not effect(action, workspace, campaign, batch, post)


def test_the_table_gives_owners_everything_and_viewers_only_reads():
    assert ROLE_ACTIONS[Role.OWNER] == frozenset(Action)
    assert ROLE_ACTIONS[Role.VIEWER] == {Action.VIEW, Action.EXPORT}
    assert can(Role.EDITOR, Action.START_BATCH) and not can(Role.EDITOR, Action.REVIEW)
    assert can(Role.REVIEWER, Action.SCHEDULE) and not can(Role.REVIEWER, Action.EDIT_POST)
    assert not can("nobody", Action.VIEW)


# ---------- selectors ----------


def test_a_member_sees_the_teams_campaigns_and_a_stranger_none(team):
    workspace, members, campaign, _batch, post = team
    viewer = members[Role.VIEWER]
    own = CampaignFactory(owner=viewer)
    assert set(selectors.visible_campaigns(viewer)) == {campaign, own}
    assert list(selectors.visible_campaigns(viewer, workspace)) == [campaign]
    assert list(selectors.campaign_list(user=viewer, workspace=workspace)) == [campaign]
    assert list(workspaces_selectors.workspaces_for(viewer)) == [personal_workspace(viewer), workspace]
    stranger = UserFactory()
    assert not selectors.visible_campaigns(stranger).exists()
    with pytest.raises(Post.DoesNotExist):
        selectors.post_for(user=stranger, pk=post.pk)
    assert workspaces_selectors.membership_of(stranger, workspace) is None
    assert workspaces_selectors.membership_of(viewer, workspace).role == Role.VIEWER


def test_a_removed_member_loses_access(team):
    workspace, members, campaign, _batch, _post = team
    editor = members[Role.EDITOR]
    workspace.memberships.filter(user=editor).delete()
    with pytest.raises(Campaign.DoesNotExist):
        selectors.campaign_for(user=editor, pk=campaign.pk)
    with pytest.raises(NotMember):
        services.campaign_update(campaign=campaign, actor=editor, tone="calm")


def test_personal_workspace_is_made_once_with_its_user_as_owner(db):
    user = UserFactory()
    workspace = personal_workspace(user)
    assert personal_workspace(user) == workspace
    assert workspaces_selectors.membership_of(user, workspace).role == Role.OWNER


# ---------- pages ----------


def test_pages_answer_403_to_a_role_that_cant_and_404_to_a_stranger(client, team):
    _workspace, members, campaign, batch, post = team
    client.force_login(members[Role.VIEWER])
    assert client.get(campaign.get_absolute_url()).status_code == 200
    assert client.get(reverse("exports:export_csv", args=[campaign.pk])).status_code == 200
    forbidden = [
        (reverse("campaigns:batch_start", args=[campaign.pk]), {"count": 1, "platforms": ["x"]}),
        (reverse("campaigns:batch_cancel", args=[batch.pk]), {}),
        (reverse("campaigns:post_review", args=[post.pk]), {"decision": "approved"}),
        (reverse("campaigns:post_edit", args=[post.pk]), {"caption": "Changed", "hashtags": ""}),
        (reverse("campaigns:delete", args=[campaign.pk]), {}),
    ]
    for url, data in forbidden:
        assert client.post(url, data).status_code == 403, url
    assert client.get(reverse("campaigns:update", args=[campaign.pk])).status_code == 403
    post.refresh_from_db()
    assert (post.review_status, post.caption) == (ReviewStatus.DRAFT, "Ready.")
    assert BatchJob.objects.get(pk=batch.pk).status == BatchStatus.QUEUED

    client.force_login(members[Role.REVIEWER])
    assert client.post(reverse("campaigns:post_review", args=[post.pk]), {"decision": "approved"}).status_code == 302
    post.refresh_from_db()
    assert post.review_status == ReviewStatus.APPROVED

    client.force_login(UserFactory())
    for url, data in forbidden:
        assert client.post(url, data).status_code == 404, url
    assert client.get(campaign.get_absolute_url()).status_code == 404


def test_the_campaign_list_shows_the_current_workspace(client, team):
    workspace, members, campaign, _batch, _post = team
    editor = members[Role.EDITOR]
    own = CampaignFactory(owner=editor, name="My own")
    client.force_login(editor)
    html = client.get(reverse("campaigns:list")).content.decode()
    assert own.name in html and campaign.name not in html  # the personal workspace comes first
    session = client.session
    session["workspace_id"] = workspace.pk
    session.save()
    html = client.get(reverse("campaigns:list")).content.decode()
    assert campaign.name in html and own.name not in html
