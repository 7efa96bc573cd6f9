"""Teams on the screens built beside them: bulk actions, the calendar of all campaigns, duplicating a
campaign, ZIP exports and economy batches keep the workspace's roles, approval rule, activity log,
webhooks, limits and budget, as the single-post services do."""

from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.models import Activity, ActivityVerb, BatchJob, BatchMode, Campaign, GenerationStatus, Post, ReviewStatus
from campaigns.services.activity import schedule_detail
from campaigns.services.bulk import SpreadPlan, posts_bulk_apply
from exports import services as export_services
from exports.models import Export
from tests.factories import CampaignFactory, MembershipFactory, PostFactory, UserFactory, WorkspaceFactory
from webhooks import services as webhook_services
from webhooks.models import Event, WebhookDelivery
from workspaces.access import NotMember
from workspaces.roles import Role

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def team(db):
    workspace = WorkspaceFactory(name="Acme marketing")
    members = {role: MembershipFactory(workspace=workspace, role=role).user for role in Role}
    campaign = CampaignFactory(workspace=workspace, owner=members[Role.EDITOR], name="Acme launch", platforms=["x"])
    posts = [PostFactory(campaign=campaign, platform="x", caption=f"Ready {n}.") for n in range(3)]
    return workspace, members, campaign, posts


def bulk(client, campaign, **data):
    return client.post(reverse("campaigns:posts_bulk", args=[campaign.pk]), data, headers=HTMX)


@pytest.mark.parametrize(
    ("role", "action", "allowed"),
    [
        (Role.VIEWER, "approve", False),
        (Role.EDITOR, "approve", False),
        (Role.REVIEWER, "approve", True),
        (Role.REVIEWER, "delete", False),
        (Role.EDITOR, "delete", True),
        (Role.EDITOR, "reject", False),
        (Role.OWNER, "reject", True),
    ],
)
def test_bulk_actions_follow_the_role(client, team, role, action, allowed):
    _workspace, members, campaign, posts = team
    client.force_login(members[role])
    response = bulk(client, campaign, action=action, all_matching="1")
    assert response.status_code == (200 if allowed else 403)
    untouched = Post.objects.filter(campaign=campaign, review_status=ReviewStatus.DRAFT).count() == len(posts)
    assert untouched is not allowed


def test_the_bulk_bar_shows_only_what_the_role_may_do(client, team):
    _workspace, members, campaign, _posts = team
    client.force_login(members[Role.VIEWER])
    html = client.get(campaign.get_absolute_url()).content.decode()
    assert 'id="bulk-form"' not in html and 'class="bulk-check"' not in html
    client.force_login(members[Role.REVIEWER])
    html = client.get(campaign.get_absolute_url()).content.decode()
    assert 'id="bulk-form"' in html and 'value="approve"' in html and 'value="schedule"' in html
    assert 'value="delete"' not in html


def test_a_stranger_gets_404_from_the_bulk_url(client, team):
    _workspace, _members, campaign, _posts = team
    client.force_login(UserFactory())
    assert bulk(client, campaign, action="approve", all_matching="1").status_code == 404


def test_bulk_approval_is_logged_per_post_and_sends_post_approved(team, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    workspace, members, campaign, posts = team
    webhook_services.endpoint_create(
        workspace=workspace, actor=members[Role.OWNER], url="http://127.0.0.1:9/hooks", events=[Event.POST_APPROVED]
    )
    already = posts[0]
    Post.objects.filter(pk=already.pk).update(review_status=ReviewStatus.APPROVED)
    reviewer = members[Role.REVIEWER]
    result = posts_bulk_apply(
        campaign=campaign, posts=Post.objects.filter(campaign=campaign), action="approve", actor=reviewer
    )
    assert result.changed == 3
    logged = Activity.objects.filter(verb=ActivityVerb.APPROVED, actor=reviewer)
    assert sorted(logged.values_list("post_id", flat=True)) == sorted(post.pk for post in posts)
    # One webhook per post approved just now; the one approved before sends none again.
    sent = WebhookDelivery.objects.filter(event=Event.POST_APPROVED)
    assert sorted(delivery.payload["data"]["post_id"] for delivery in sent) == sorted(p.pk for p in posts[1:])


def test_where_approval_is_required_bulk_scheduling_takes_only_approved_posts(team):
    workspace, members, campaign, posts = team
    workspace.approval_required = True
    workspace.save()
    Post.objects.filter(pk=posts[0].pk).update(review_status=ReviewStatus.APPROVED)
    tomorrow = timezone.localdate() + timedelta(days=1)
    plan = SpreadPlan(first_day=tomorrow, last_day=tomorrow + timedelta(days=5), times=(time(9),))
    result = posts_bulk_apply(
        campaign=campaign,
        posts=Post.objects.filter(campaign=campaign),
        action="schedule",
        actor=members[Role.REVIEWER],
        plan=plan,
    )
    assert (result.changed, result.skipped) == (1, 2)
    assert "requires approval" in result.summary
    assert list(Post.objects.exclude(scheduled_at=None).values_list("pk", flat=True)) == [posts[0].pk]
    scheduled = Activity.objects.get(verb=ActivityVerb.SCHEDULED, post=posts[0])
    assert scheduled.detail == schedule_detail(Post.objects.get(pk=posts[0].pk).scheduled_at)

    # A bulk rejection there unschedules, as rejecting one post does.
    posts_bulk_apply(
        campaign=campaign, posts=Post.objects.filter(pk=posts[0].pk), action="reject", actor=members[Role.REVIEWER]
    )
    assert not Post.objects.exclude(scheduled_at=None).exists()


def test_bulk_apply_never_reaches_another_campaigns_posts(team):
    _workspace, members, campaign, _posts = team
    elsewhere = PostFactory(campaign=CampaignFactory(), platform="x")
    posts_bulk_apply(campaign=campaign, posts=Post.objects.all(), action="reject", actor=members[Role.OWNER])
    elsewhere.refresh_from_db()
    assert elsewhere.review_status == ReviewStatus.DRAFT


def test_the_calendar_shows_the_current_workspaces_posts_and_lets_only_schedulers_move_them(client, team):
    _workspace, members, campaign, posts = team
    when = timezone.now() + timedelta(days=2)
    Post.objects.filter(pk=posts[0].pk).update(scheduled_at=when)
    viewer = members[Role.VIEWER]
    own = CampaignFactory(owner=viewer, name="Viewer's own", platforms=["x"])  # in the viewer's personal workspace
    PostFactory(campaign=own, platform="x", caption="Mine.", scheduled_at=when)
    month = f"{timezone.localtime(when):%Y-%m}"

    client.force_login(viewer)
    client.post(reverse("workspaces:workspace_switch"), {"workspace": campaign.workspace_id})
    html = client.get(reverse("campaigns:schedule"), {"month": month}).content.decode()
    assert "Acme launch" in html and "Viewer&#x27;s own" not in html
    assert "data-reschedule-url" not in html and "Drag a post" not in html
    moved = client.post(
        reverse("campaigns:post_reschedule", args=[posts[0].pk]), {"date": f"{when + timedelta(days=1):%Y-%m-%d}"}
    )
    assert moved.status_code == 403

    client.force_login(members[Role.REVIEWER])
    client.post(reverse("workspaces:workspace_switch"), {"workspace": campaign.workspace_id})
    html = client.get(reverse("campaigns:schedule"), {"month": month}).content.decode()
    assert "data-reschedule-url" in html


def test_duplicating_a_campaign_keeps_it_in_its_workspace_for_editors_only(client, team):
    workspace, members, campaign, _posts = team
    client.force_login(members[Role.REVIEWER])
    assert client.post(reverse("campaigns:duplicate", args=[campaign.pk])).status_code == 403
    assert 'action="{}"'.format(reverse("campaigns:duplicate", args=[campaign.pk])) not in (
        client.get(campaign.get_absolute_url()).content.decode()
    )
    editor = members[Role.EDITOR]
    client.force_login(editor)
    client.post(reverse("campaigns:duplicate", args=[campaign.pk]))
    copy = Campaign.objects.get(name="Acme launch (copy)")
    assert (copy.workspace, copy.owner) == (workspace, editor)
    assert Activity.objects.filter(campaign=copy, verb=ActivityVerb.CREATED, actor=editor).exists()


def test_zip_exports_count_against_the_export_limit(client, team, settings):
    settings.EXPORTS_PER_MINUTE = 1
    _workspace, members, campaign, _posts = team
    client.force_login(members[Role.VIEWER])
    url = reverse("exports:export_zip", args=[campaign.pk])
    assert client.post(url).status_code == 302
    refused = client.post(url, follow=True)
    assert Export.objects.filter(campaign=campaign).count() == 1
    assert "exports a minute: try again in" in refused.content.decode()


def test_a_zip_export_where_approval_is_required_holds_only_approved_posts(team, settings):
    from exports.jobs import run_export

    workspace, members, campaign, posts = team
    workspace.approval_required = True
    workspace.save()
    Post.objects.filter(pk=posts[0].pk).update(review_status=ReviewStatus.APPROVED)
    export = export_services.export_zip_start(campaign=campaign, actor=members[Role.VIEWER], download_name="x.zip")
    run_export(export.pk)
    export.refresh_from_db()
    assert export.total_count == 1


def test_an_economy_batch_takes_no_cap_but_its_estimate_meets_the_budget(team, openai_settings):
    workspace, members, campaign, _posts = team
    editor = members[Role.EDITOR]
    standard = services.batch_estimate(count=100)
    economy = services.batch_estimate(count=100, economy=True)
    assert Decimal("0") < economy < standard

    batch = services.batch_start(campaign=campaign, count=10, actor=editor, mode=BatchMode.ECONOMY)
    assert batch.cost_cap_usd is None
    assert set(Post.objects.filter(batch=batch).values_list("status", flat=True)) == {GenerationStatus.GENERATING}

    workspace.monthly_budget_usd = economy / 2
    workspace.save()
    with pytest.raises(ValidationError, match="budget"):
        services.batch_start(campaign=campaign, count=100, actor=editor, mode=BatchMode.ECONOMY)
    assert BatchJob.objects.filter(campaign=campaign).count() == 1


def test_the_batch_form_starts_economy_with_the_default_cap_field_filled(client, team, openai_settings):
    _workspace, members, campaign, _posts = team
    client.force_login(members[Role.EDITOR])
    url = reverse("campaigns:batch_start", args=[campaign.pk])
    response = client.post(
        url, {"count": "4", "platforms": ["x"], "cost_cap_usd": "50", "mode": "economy"}, headers=HTMX
    )
    assert response.status_code == 200
    batch = BatchJob.objects.get(campaign=campaign)
    assert (batch.mode, batch.cost_cap_usd) == (BatchMode.ECONOMY, None)


def test_a_viewer_cannot_start_a_batch_from_the_page(client, team):
    _workspace, members, campaign, _posts = team
    client.force_login(members[Role.VIEWER])
    url = reverse("campaigns:batch_start", args=[campaign.pk])
    assert client.post(url, {"count": "2", "platforms": ["x"]}, headers=HTMX).status_code == 403
    assert not BatchJob.objects.exists()


def test_bulk_refuses_a_stranger_through_the_service_too(team):
    _workspace, _members, campaign, _posts = team
    with pytest.raises(NotMember):
        posts_bulk_apply(
            campaign=campaign, posts=Post.objects.filter(campaign=campaign), action="approve", actor=UserFactory()
        )
    assert not Post.objects.filter(review_status=ReviewStatus.APPROVED).exists()


def test_a_bulk_approval_costs_the_same_queries_for_60_posts_as_for_a_few(
    team, settings, django_assert_max_num_queries
):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    workspace, members, campaign, _posts = team
    webhook_services.endpoint_create(
        workspace=workspace, actor=members[Role.OWNER], url="http://127.0.0.1:9/hooks", events=[Event.POST_APPROVED]
    )
    PostFactory.create_batch(57, campaign=campaign, platform="x")
    with django_assert_max_num_queries(12):
        result = posts_bulk_apply(
            campaign=campaign, posts=Post.objects.filter(campaign=campaign), action="approve", actor=members[Role.OWNER]
        )
    assert result.changed == 60
    assert WebhookDelivery.objects.filter(event=Event.POST_APPROVED).count() == 60
    assert Activity.objects.filter(verb=ActivityVerb.APPROVED).count() == 60
