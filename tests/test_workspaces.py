"""Team workspaces on the pages: the header's switcher, the members page and invitations, buttons
hidden by role, approval required, comments and the activity log."""

import hashlib
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.models import ActivityVerb, BatchStatus, Comment, ReviewStatus
from campaigns.services.activity import batch_activity, post_activity
from exports.writers import posts_to_export
from tests.factories import BatchFactory, CampaignFactory, MembershipFactory, PostFactory, UserFactory, WorkspaceFactory
from tests.support import all_at_once
from workspaces import selectors as workspaces_selectors
from workspaces.models import Invitation, Membership, Workspace
from workspaces.roles import Role
from workspaces.services import members
from workspaces.services.workspaces import personal_workspace

HTMX = {"HX-Request": "true"}


@pytest.fixture
def team(db):
    workspace = WorkspaceFactory(name="Acme marketing")
    people = {role: MembershipFactory(workspace=workspace, role=role).user for role in Role}
    campaign = CampaignFactory(workspace=workspace, owner=people[Role.EDITOR], name="Acme launch")
    batch = BatchFactory(campaign=campaign, requested_count=1, status=BatchStatus.SUCCEEDED, succeeded_count=1)
    post = PostFactory(campaign=campaign, batch=batch, platform="x", caption="Ready to go.")
    return workspace, people, campaign, post


def switch_to(client, workspace):
    return client.post(reverse("workspaces:workspace_switch"), {"workspace": workspace.pk, "next": "/"})


# ---------- the switcher ----------


def test_the_header_switches_between_ones_workspaces_only(client, team):
    workspace, people, campaign, _post = team
    editor = people[Role.EDITOR]
    mine = CampaignFactory(owner=editor, name="My own")  # in the editor's personal workspace
    client.force_login(editor)
    html = client.get(reverse("campaigns:list")).content.decode()
    assert 'id="workspace-select-bar"' in html and "Acme marketing" in html
    assert f"{editor.username}&#x27;s workspace" in html
    assert mine.name in html and campaign.name not in html  # the personal workspace comes first
    assert switch_to(client, workspace).status_code == 302
    html = client.get(reverse("campaigns:list")).content.decode()
    assert campaign.name in html and mine.name not in html
    # Someone else's workspace can't be chosen, nor can a number out of range.
    elsewhere = personal_workspace(UserFactory())
    assert switch_to(client, elsewhere).status_code == 404
    response = client.post(reverse("workspaces:workspace_switch"), {"workspace": "9223372036854775808"})
    assert response.status_code == 404
    assert client.session["workspace_id"] == workspace.pk


# ---------- members and invitations ----------


def test_only_owners_open_the_members_page(client, team):
    workspace, people, _campaign, _post = team
    for role in Role:
        client.force_login(people[role])
        switch_to(client, workspace)
        expected = 200 if role == Role.OWNER else 403
        assert client.get(reverse("workspaces:members")).status_code == expected, role
        html = client.get(reverse("campaigns:list")).content.decode()
        assert (reverse("workspaces:members") in html) == (role == Role.OWNER)


def invite(workspace, owner, role="editor", **fields) -> str:
    """A new invitation's link, as a path."""
    link = members.invitation_create(
        workspace=workspace, actor=owner, role=role, url_for=lambda token: f"/invitations/{token}/", **fields
    )
    return link.url


def test_an_invitation_link_makes_a_member_with_its_role(client, team, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.EMAIL_CONFIGURED = True
    workspace, people, campaign, _post = team
    client.force_login(people[Role.OWNER])
    switch_to(client, workspace)
    response = client.post(reverse("workspaces:members"), {"role": "reviewer", "email": "newcomer@example.com"})
    link = response.context["new_link"].url
    assert link.startswith("http://testserver/invitations/")
    assert len(mail.outbox) == 1 and link in mail.outbox[0].body
    # The table keeps the token's hash only: the link is nowhere in it.
    token = link.removeprefix("http://testserver/invitations/").strip("/")
    invitation = Invitation.objects.get()
    assert (invitation.role, invitation.email, invitation.created_by) == (
        "reviewer",
        "newcomer@example.com",
        people[Role.OWNER],
    )
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    newcomer = UserFactory()
    client.force_login(newcomer)
    assert client.get(campaign.get_absolute_url()).status_code == 404
    path = link.removeprefix("http://testserver")
    assert "Join Acme marketing" in client.get(path).content.decode()  # a GET changes nothing
    assert not Membership.objects.filter(user=newcomer).exclude(workspace__personal_for=newcomer).exists()
    assert client.post(path).status_code == 302
    assert Membership.objects.get(workspace=workspace, user=newcomer).role == Role.REVIEWER
    assert client.get(campaign.get_absolute_url()).status_code == 200
    invitation.refresh_from_db()
    assert (invitation.accepted_by, invitation.state) == (newcomer, "used")


def test_an_invitation_link_works_once(client, team):
    workspace, people, _campaign, _post = team
    path = invite(workspace, people[Role.OWNER], role="owner")
    first, second = UserFactory(), UserFactory()
    client.force_login(first)
    assert client.post(path).status_code == 302
    client.force_login(second)
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 400
        assert "This invitation to Acme marketing has already been used" in response.content.decode()
    assert not workspace.memberships.filter(user=second).exists()


def test_a_member_who_opens_a_link_leaves_it_for_the_one_it_was_meant_for(client, team):
    workspace, people, _campaign, _post = team
    path = invite(workspace, people[Role.OWNER], role="owner")
    client.force_login(people[Role.VIEWER])
    assert "You are already in Acme marketing" in client.get(path).content.decode()
    client.post(path)
    assert workspace.memberships.get(user=people[Role.VIEWER]).role == Role.VIEWER  # keeps the role they have
    client.force_login(UserFactory())
    assert client.post(path).status_code == 302  # the link still works


def test_two_people_accepting_one_link_at_once_make_one_member(transactional_db):
    workspace = WorkspaceFactory(name="Acme marketing")
    owner = MembershipFactory(workspace=workspace, role=Role.OWNER).user
    token = invite(workspace, owner).split("/")[-2]
    people = [UserFactory() for _ in range(4)]
    results = all_at_once([lambda user=user: members.invitation_accept(token=token, user=user) for user in people])
    joined = [result for result in results if isinstance(result, Membership)]
    refused = [result.messages[0] for result in results if isinstance(result, ValidationError)]
    used = "This invitation to Acme marketing has already been used: ask its owners for a new link."
    assert (len(joined), refused) == (1, [used] * 3), results
    assert workspace.memberships.count() == 2


def test_no_email_when_email_is_not_configured(client, team, settings):
    settings.EMAIL_CONFIGURED = False  # production without EMAIL_URL
    workspace, people, _campaign, _post = team
    client.force_login(people[Role.OWNER])
    switch_to(client, workspace)
    response = client.post(reverse("workspaces:members"), {"role": "viewer", "email": "someone@example.com"})
    assert response.context["new_link"].emailed is False
    assert "Email isn" in response.content.decode()
    assert response.context["new_link"].url in response.content.decode()  # to copy


def test_an_altered_expired_or_revoked_invitation_says_so(client, team):
    workspace, people, _campaign, _post = team
    owner = people[Role.OWNER]
    client.force_login(UserFactory())
    path = invite(workspace, owner, role="owner")
    for altered in (path[:-3] + ("aa/" if not path.endswith("aa/") else "bb/"), "/invitations/" + "x" * 5000 + "/"):
        response = client.post(altered)
        assert response.status_code == 400 and "This invitation link is not valid" in response.content.decode()

    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post(path)
    assert response.status_code == 400
    assert "This invitation to Acme marketing has expired: ask its owners for a new link." in response.content.decode()

    revoked = invite(workspace, owner, role="owner")
    members.invitation_revoke(invitation=Invitation.objects.first(), actor=owner)
    response = client.get(revoked)
    assert response.status_code == 400
    assert "This invitation to Acme marketing was revoked: ask its owners for a new link." in response.content.decode()
    assert client.post(revoked).status_code == 400
    assert workspace.memberships.count() == len(Role)


def test_owners_see_pending_invitations_and_revoke_them(client, team):
    workspace, people, _campaign, _post = team
    owner = people[Role.OWNER]
    pending_path = invite(workspace, owner, role="reviewer", email="pat@example.com")
    used_path = invite(workspace, owner, role="viewer")
    client.force_login(UserFactory())
    client.post(used_path)
    pending, used = Invitation.objects.get(role="reviewer"), Invitation.objects.get(role="viewer")
    revoke_url = reverse("workspaces:invitation_revoke", args=[pending.pk])

    client.force_login(owner)
    switch_to(client, workspace)
    page = client.get(reverse("workspaces:members")).content.decode()
    assert "Reviewer</strong> for pat@example.com" in page and revoke_url in page
    assert reverse("workspaces:invitation_revoke", args=[used.pk]) not in page  # used: nothing to revoke

    # Only owners revoke, by POST, and only their workspace's invitations.
    for role in (Role.EDITOR, Role.REVIEWER, Role.VIEWER):
        client.force_login(people[role])
        switch_to(client, workspace)
        assert client.post(revoke_url).status_code == 403
    client.force_login(owner)
    switch_to(client, workspace)
    assert client.get(revoke_url).status_code == 405
    elsewhere = personal_workspace(UserFactory())
    stranger = members.invitation_create(
        workspace=elsewhere, actor=elsewhere.memberships.get().user, role="owner", url_for=str
    ).invitation
    assert client.post(reverse("workspaces:invitation_revoke", args=[stranger.pk])).status_code == 404
    pending.refresh_from_db()
    assert pending.state == "pending"

    response = client.post(revoke_url, follow=True)
    assert "Invitation revoked: its link no longer works." in response.content.decode()
    assert "pat@example.com" not in response.content.decode()
    pending.refresh_from_db()
    assert pending.state == "revoked"
    response = client.post(reverse("workspaces:invitation_revoke", args=[used.pk]), follow=True)
    assert "This invitation was already used." in response.content.decode()
    client.force_login(UserFactory())
    assert client.post(pending_path).status_code == 400


@pytest.mark.parametrize("opens_the_link_first", [True, False])
def test_someone_invited_before_their_first_page_gets_a_personal_workspace_too(client, team, opens_the_link_first):
    """A new account (made by staff) whose first request is the invitation's page, or the join itself."""
    workspace, people, _campaign, _post = team
    path = invite(workspace, people[Role.OWNER], role="reviewer")
    newcomer = UserFactory()
    client.force_login(newcomer)
    if opens_the_link_first:
        client.get(path)
    assert client.post(path).status_code == 302
    own = Workspace.objects.get(personal_for=newcomer)
    assert own.memberships.get().user == newcomer and own.memberships.get().role == Role.OWNER
    client.get(reverse("campaigns:list"))
    assert [w.pk for w in workspaces_selectors.workspaces_for(newcomer)] == [own.pk, workspace.pk]
    assert client.session["workspace_id"] == workspace.pk  # they land in the team they joined


def test_staff_read_invitations_in_the_admin_without_their_links(team, staff_client):
    workspace, people, _campaign, _post = team
    invite(workspace, people[Role.OWNER], role="reviewer", email="pat@example.com")
    invitation = Invitation.objects.get()
    page = staff_client.get(reverse("admin:workspaces_invitation_changelist")).content.decode()
    assert "pat@example.com" in page and "Acme marketing" in page and ">pending<" in page
    detail = staff_client.get(reverse("admin:workspaces_invitation_change", args=[invitation.pk])).content.decode()
    assert "pat@example.com" in detail and invitation.token_hash not in detail
    assert staff_client.get(reverse("admin:workspaces_invitation_add")).status_code == 403


def test_owners_change_roles_and_remove_members_but_keep_an_owner(client, team):
    workspace, people, campaign, _post = team
    owner, editor = people[Role.OWNER], people[Role.EDITOR]
    client.force_login(owner)
    switch_to(client, workspace)
    editor_membership = workspace.memberships.get(user=editor)
    client.post(reverse("workspaces:member_role", args=[editor_membership.pk]), {"role": "viewer"})
    editor_membership.refresh_from_db()
    assert editor_membership.role == Role.VIEWER
    client.post(reverse("workspaces:member_remove", args=[editor_membership.pk]))
    assert not workspace.memberships.filter(user=editor).exists()
    own = workspace.memberships.get(user=owner)
    response = client.post(reverse("workspaces:member_remove", args=[own.pk]), follow=True)
    assert "needs an owner" in response.content.decode()
    client.post(reverse("workspaces:member_role", args=[own.pk]), {"role": "editor"})
    assert workspace.memberships.get(user=owner).role == Role.OWNER
    # The removed member: the campaign and its posts are gone for them.
    client.force_login(editor)
    assert client.get(campaign.get_absolute_url()).status_code == 404
    # A membership of another workspace can't be reached from this one.
    stranger = personal_workspace(UserFactory()).memberships.get()
    client.force_login(owner)
    assert client.post(reverse("workspaces:member_remove", args=[stranger.pk])).status_code == 404


# ---------- buttons by role ----------


def test_pages_show_only_the_buttons_a_role_may_use(client, team):
    _workspace, people, campaign, post = team
    client.force_login(people[Role.VIEWER])
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert reverse("campaigns:batch_start", args=[campaign.pk]) not in page
    assert reverse("campaigns:post_review", args=[post.pk]) not in page
    assert reverse("campaigns:update", args=[campaign.pk]) not in page
    card = client.get(reverse("campaigns:post_card", args=[post.pk]), headers=HTMX).content.decode()
    assert "Approve" not in card and "Delete post" not in card

    client.force_login(people[Role.REVIEWER])
    card = client.get(reverse("campaigns:post_card", args=[post.pk]), headers=HTMX).content.decode()
    assert "Approve" in card and "Save time" in card
    assert reverse("campaigns:post_edit", args=[post.pk]) not in card and "Delete post" not in card

    client.force_login(people[Role.EDITOR])
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert reverse("campaigns:batch_start", args=[campaign.pk]) in page
    card = client.get(reverse("campaigns:post_card", args=[post.pk]), headers=HTMX).content.decode()
    assert "Approve" not in card and reverse("campaigns:post_edit", args=[post.pk]) in card


# ---------- approval required ----------


def test_with_approval_required_only_approved_posts_are_scheduled_and_exported(team):
    workspace, people, campaign, post = team
    workspace.approval_required = True
    workspace.save()
    draft = PostFactory(campaign=campaign, platform="x")
    tomorrow = timezone.now() + timedelta(days=1)
    with pytest.raises(ValidationError, match="requires approval"):
        services.post_schedule(post=post, scheduled_at=tomorrow, actor=people[Role.REVIEWER])
    services.post_review(post=post, decision=ReviewStatus.APPROVED, actor=people[Role.REVIEWER])
    services.post_schedule(post=post, scheduled_at=tomorrow, actor=people[Role.REVIEWER])
    assert list(posts_to_export(campaign=campaign, actor=people[Role.VIEWER], filters={})) == [post]
    # Edited words need approving again, and the post leaves the schedule until then.
    services.post_update(post=post, caption="New words.", hashtags=[], actor=people[Role.EDITOR])
    post.refresh_from_db()
    assert (post.review_status, post.scheduled_at) == (ReviewStatus.DRAFT, None)
    assert not posts_to_export(campaign=campaign, actor=people[Role.VIEWER], filters={}).exists()
    # Without the setting, drafts are exported too.
    workspace.approval_required = False
    workspace.save()
    assert set(posts_to_export(campaign=campaign, actor=people[Role.VIEWER], filters={})) == {post, draft}


# ---------- comments and activity ----------


def test_a_post_has_a_comment_thread(client, team):
    _workspace, people, _campaign, post = team
    url = reverse("campaigns:post_comment", args=[post.pk])
    client.force_login(people[Role.REVIEWER])
    thread = client.post(url, {"body": "Shorter, please <b>now</b>."}, headers=HTMX).content.decode()
    assert "Shorter, please &lt;b&gt;now&lt;/b&gt;." in thread and 'id="comment-thread"' in thread
    assert "Write something first." in client.post(url, {"body": "   "}, headers=HTMX).content.decode()
    client.force_login(people[Role.VIEWER])
    assert client.post(url, {"body": "Me too"}).status_code == 403
    page = client.get(post.get_absolute_url()).content.decode()
    assert "Shorter, please" in page and 'name="body"' not in page  # a viewer reads, without the form
    client.force_login(UserFactory())
    assert client.post(url, {"body": "Hi"}).status_code == 404
    assert list(Comment.objects.values_list("body", flat=True)) == ["Shorter, please <b>now</b>."]


def test_the_activity_log_says_who_did_what_on_the_post_and_the_batch(client, team):
    _workspace, people, campaign, post = team
    editor, reviewer = people[Role.EDITOR], people[Role.REVIEWER]
    services.post_update(post=post, caption="Better words.", hashtags=[], actor=editor)
    services.post_review(post=post, decision=ReviewStatus.APPROVED, actor=reviewer)
    services.post_schedule(post=post, scheduled_at=timezone.now() + timedelta(days=1), actor=reviewer)
    services.post_regenerate(post=post, part="image", actor=editor)
    expected = [
        (editor, ActivityVerb.REGENERATED),
        (reviewer, ActivityVerb.SCHEDULED),
        (reviewer, ActivityVerb.APPROVED),
        (editor, ActivityVerb.EDITED),
    ]
    assert [(a.actor, a.verb) for a in post_activity(post)] == expected
    assert [(a.actor, a.verb) for a in batch_activity(post.batch)] == expected
    batch = services.batch_start(campaign=campaign, count=1, actor=editor, enqueue=False)
    assert [(a.actor, a.verb) for a in batch_activity(batch)] == [(editor, ActivityVerb.CREATED)]
    client.force_login(people[Role.VIEWER])
    page = client.get(post.get_absolute_url()).content.decode()
    assert f"<strong>{reviewer.username}</strong> approved" in page
    assert f"<strong>{editor.username}</strong> edited" in page
    batch_page = client.get(post.batch.get_absolute_url()).content.decode()
    assert f"<strong>{reviewer.username}</strong> scheduled" in batch_page


def test_a_teams_campaign_outlives_its_creators_account(team):
    workspace, people, campaign, post = team
    people[Role.EDITOR].delete()
    campaign.refresh_from_db()
    assert (campaign.workspace, campaign.owner) == (workspace, None)
    assert post.comments.count() == 0 and campaign.posts.filter(pk=post.pk).exists()


def test_owners_change_the_workspace_settings(client, team):
    workspace, people, _campaign, _post = team
    url = reverse("workspaces:workspace_settings")
    client.force_login(people[Role.EDITOR])
    switch_to(client, workspace)
    assert client.post(url, {"name": "Taken over", "approval_required": "on"}).status_code == 403
    client.force_login(people[Role.OWNER])
    switch_to(client, workspace)
    assert client.post(url, {"name": "  "}).status_code == 200  # refused, with the form again: a name is required
    workspace.refresh_from_db()
    assert workspace.name == "Acme marketing"
    assert client.post(url, {"name": "Acme brand team", "approval_required": "on"}).status_code == 302
    workspace.refresh_from_db()
    assert (workspace.name, workspace.approval_required) == ("Acme brand team", True)
