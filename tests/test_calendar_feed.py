"""The workspace's calendar feed: its scheduled posts at a secret URL that owners can replace."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone
from icalendar import Calendar

from exports.calendar_feed import calendar_feed_path, calendar_feed_regenerate, workspace_by_calendar_token
from tests.factories import CampaignFactory, MembershipFactory, PostFactory, UserFactory
from workspaces.models import Workspace
from workspaces.roles import Role
from workspaces.services.workspaces import personal_workspace

pytestmark = pytest.mark.django_db


def test_the_feed_lists_the_workspaces_scheduled_posts_and_only_them(client, user):
    workspace = personal_workspace(user)
    campaign = CampaignFactory(owner=user, name="Summer")
    when = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    scheduled = PostFactory(campaign=campaign, platform="x", caption="Cold brew, cold days", scheduled_at=when)
    PostFactory(campaign=campaign)  # not scheduled
    PostFactory(campaign=CampaignFactory(), scheduled_at=when)  # another workspace's
    calendar_feed_regenerate(workspace=workspace, actor=user)

    response = client.get(calendar_feed_path(workspace))  # no session: calendar apps send none
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    events = Calendar.from_ical(response.content).walk("VEVENT")
    assert [str(event["uid"]) for event in events] == [f"post-{scheduled.pk}@campaign-posts"]
    event = events[0]
    assert event.decoded("dtstart") == when
    assert "X" in str(event["summary"]) and "Summer" in str(event["summary"])
    assert str(event["url"]).endswith(scheduled.get_absolute_url())


def test_a_new_url_retires_the_old_one(client, user):
    workspace = personal_workspace(user)
    calendar_feed_regenerate(workspace=workspace, actor=user)
    old = calendar_feed_path(workspace)
    calendar_feed_regenerate(workspace=workspace, actor=user)
    assert client.get(old).status_code == 404
    assert client.get(calendar_feed_path(workspace)).status_code == 200
    assert client.get("/calendar/not-a-token.ics").status_code == 404


@pytest.mark.parametrize("role", [Role.EDITOR, Role.REVIEWER, Role.VIEWER])
def test_only_owners_make_the_url_and_every_member_sees_it(client, user, role):
    workspace = personal_workspace(user)
    calendar_feed_regenerate(workspace=workspace, actor=user)
    member = UserFactory()
    MembershipFactory(workspace=workspace, user=member, role=role)
    with pytest.raises(PermissionDenied):
        calendar_feed_regenerate(workspace=workspace, actor=member)
    client.force_login(member)
    session = client.session
    session["workspace_id"] = workspace.pk
    session.save()
    page = client.get("/settings/api-tokens/").content.decode()
    assert calendar_feed_path(workspace) in page and "Make a new URL" not in page
    assert client.post("/settings/calendar-feed/new-url/").status_code == 403


@pytest.mark.postgres
def test_the_feed_finds_its_workspace_through_the_token_index(user):
    """Calendar apps poll the feed: its lookup by token reads the partial unique index, not the table."""
    workspace = calendar_feed_regenerate(workspace=personal_workspace(user), actor=user)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table would be scanned anyway
    plan = Workspace.objects.filter(ical_token=workspace.ical_token).explain()
    assert "workspace_ical_token_unique" in plan, plan
    assert workspace_by_calendar_token(workspace.ical_token) == workspace
