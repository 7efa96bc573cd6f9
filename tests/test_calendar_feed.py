"""Each person's calendar feed: the scheduled posts of the workspaces they belong to now, at a secret
URL of their own that they can replace, and that shows nothing of a workspace they have left."""

import hashlib
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from accounts.models import Profile
from tests.factories import CampaignFactory, MembershipFactory, PostFactory, UserFactory, WorkspaceFactory
from workspaces.models import Membership
from workspaces.roles import Role
from workspaces.services.members import member_remove
from workspaces.services.workspaces import personal_workspace

pytestmark = pytest.mark.django_db

TOKENS_PAGE = "/settings/api-tokens/"
NEW_URL = "/settings/calendar-feed/new-url/"
HTMX = {"HX-Request": "true"}


def shown_url(html: str) -> str:
    """The feed URL a page shows, as a path ("" when it shows none)."""
    found = re.search(r'data-testid="calendar-url">([^<]+)<', html)
    return urlsplit(found.group(1)).path if found else ""


def new_feed_url(user) -> str:
    """What `user` does on the API page: press "Make a new URL" and copy the URL the page shows."""
    client = Client()
    client.force_login(user)
    assert client.post(NEW_URL).status_code == 302
    path = shown_url(client.get(TOKENS_PAGE).content.decode())
    assert path
    return path


def feed(path: str) -> list[str]:
    """The post ids in the feed at `path`, fetched as a calendar app does: no session, no cookie."""
    response = Client().get(path)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/calendar")
    uids = [str(event["uid"]) for event in Calendar.from_ical(response.content).walk("VEVENT")]
    return sorted(int(uid.removeprefix("post-").removesuffix("@campaign-posts")) for uid in uids)


def scheduled_post(workspace, **fields):
    when = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    return PostFactory(campaign=CampaignFactory(workspace=workspace), scheduled_at=when, **fields)


def test_a_signed_out_fetch_shows_the_persons_scheduled_posts_of_every_workspace_they_are_in(user):
    """A viewer makes their own URL, and a calendar app (no session) reads with it the scheduled
    posts of each workspace they belong to, and only those."""
    team = WorkspaceFactory()
    MembershipFactory(workspace=team, user=user, role=Role.VIEWER)
    when = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    mine = PostFactory(
        campaign=CampaignFactory(owner=user, name="Summer"), platform="x", caption="Cold brew", scheduled_at=when
    )
    teams = scheduled_post(team)
    PostFactory(campaign=CampaignFactory(owner=user))  # not scheduled
    scheduled_post(WorkspaceFactory())  # a workspace they are not in

    path = new_feed_url(user)
    assert feed(path) == sorted([mine.pk, teams.pk])
    event = Calendar.from_ical(Client().get(path).content).walk("VEVENT")[0]
    assert event.decoded("dtstart") == when
    assert "X" in str(event["summary"]) and "Summer" in str(event["summary"])
    assert str(event["url"]).endswith(mine.get_absolute_url())


def test_a_removed_member_no_longer_sees_that_workspaces_posts_and_still_sees_the_others(user):
    owner = UserFactory()
    left, stays = WorkspaceFactory(name="Left"), WorkspaceFactory(name="Stays")
    for workspace in (left, stays):
        MembershipFactory(workspace=workspace, user=owner, role=Role.OWNER)
        MembershipFactory(workspace=workspace, user=user, role=Role.EDITOR)
    left_post, stays_post = scheduled_post(left, caption="Left's launch plan"), scheduled_post(stays)
    path = new_feed_url(user)
    assert feed(path) == sorted([left_post.pk, stays_post.pk])
    assert "Left's launch plan" in Client().get(path).content.decode()

    member_remove(membership=Membership.objects.get(workspace=left, user=user), actor=owner)

    assert feed(path) == [stays_post.pk]  # at once: the next fetch reads the memberships again
    assert "Left's launch plan" not in Client().get(path).content.decode()  # neither its captions nor times


def test_a_new_url_retires_only_the_makers_old_one(user):
    other = UserFactory()
    team = WorkspaceFactory()
    MembershipFactory(workspace=team, user=user, role=Role.REVIEWER)
    MembershipFactory(workspace=team, user=other, role=Role.OWNER)
    post = scheduled_post(team)
    old, others = new_feed_url(user), new_feed_url(other)

    new = new_feed_url(user)

    assert new != old
    assert Client().get(old).status_code == 404
    assert feed(new) == [post.pk]
    assert feed(others) == [post.pk]  # another member's URL is theirs: untouched
    assert Client().get("/calendar/not-a-token.ics").status_code == 404


def test_someone_elses_url_never_shows_your_posts(user):
    """Two owners of one team each have their own URL; each shows the team's posts and its own
    person's, never the other's personal ones. What the table keeps is no URL either."""
    other = UserFactory()
    team = WorkspaceFactory()
    for person in (user, other):
        MembershipFactory(workspace=team, user=person, role=Role.OWNER)
    teams, mine, theirs = (
        scheduled_post(team),
        scheduled_post(personal_workspace(user)),
        scheduled_post(personal_workspace(other)),
    )
    my_url, their_url = new_feed_url(user), new_feed_url(other)

    assert my_url != their_url
    assert feed(my_url) == sorted([teams.pk, mine.pk])
    assert feed(their_url) == sorted([teams.pk, theirs.pk])
    profile = Profile.objects.get(user=user)
    for stored in (profile.calendar_token_seed, profile.calendar_token_hash):
        assert Client().get(f"/calendar/{stored}.ics").status_code == 404


def test_a_deactivated_persons_feed_answers_404(user):
    scheduled_post(personal_workspace(user))
    path = new_feed_url(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert Client().get(path).status_code == 404


@pytest.mark.parametrize("role", [Role.EDITOR, Role.REVIEWER, Role.VIEWER])
def test_the_page_shows_every_member_their_own_url_and_a_button_for_a_new_one(client, user, role):
    team = WorkspaceFactory()
    MembershipFactory(workspace=team, user=user, role=role)
    client.force_login(user)
    session = client.session
    session["workspace_id"] = team.pk
    session.save()
    page = client.get(TOKENS_PAGE).content.decode()
    assert shown_url(page) == "" and "Make my calendar URL" in page

    panel = client.post(NEW_URL, headers=HTMX)  # the button's htmx request: the panel, swapped in place
    assert panel.status_code == 200 and 'id="calendar-feed"' in panel.content.decode()
    path = shown_url(panel.content.decode())
    assert path and Client().get(path).status_code == 200

    page = client.get(TOKENS_PAGE).content.decode()  # and again later, to copy it into another app
    assert shown_url(page) == path and "Make a new URL" in page


@pytest.mark.postgres
def test_the_feed_finds_its_person_through_the_token_index(user):
    """Calendar apps poll the feed: its lookup by token hash reads the partial unique index, not the table."""
    path = new_feed_url(user)
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table would be scanned anyway
    digest = hashlib.sha256(token.encode()).hexdigest()  # the table keeps the token's SHA-256, not the token
    plan = Profile.objects.filter(calendar_token_hash=digest).explain()
    assert "profile_calendar_token_hash_unique" in plan, plan
    assert Profile.objects.get(calendar_token_hash=digest).user == user
