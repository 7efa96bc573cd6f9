"""The calendar of all campaigns: month and list views, and moving a post (drop on a day, or the form)."""

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import GenerationStatus
from tests.factories import CampaignFactory, PostFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def month():
    return (timezone.localdate().replace(day=1) + timedelta(days=40)).replace(day=1)


def at(day, hour=9, minute=0):
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour, minute))


def test_month_and_list_show_every_campaign_the_person_can_see(signed_in_client, user, other_user, month):
    first = PostFactory(campaign=CampaignFactory(owner=user, name="Summer"), scheduled_at=at(month.replace(day=3)))
    second = PostFactory(campaign=CampaignFactory(owner=user, name="Winter"), scheduled_at=at(month.replace(day=3), 15))
    PostFactory(campaign=CampaignFactory(owner=other_user, name="Not mine"), scheduled_at=at(month.replace(day=4)))
    url = reverse("campaigns:schedule")
    grid = signed_in_client.get(url, {"month": f"{month:%Y-%m}"}).content.decode()
    assert "Summer" in grid and "Winter" in grid and "Not mine" not in grid
    assert f'data-drop-date="{month.replace(day=3):%Y-%m-%d}"' in grid and 'draggable="true"' in grid
    listing = signed_in_client.get(url, {"month": f"{month:%Y-%m}", "view": "list"}).content.decode()
    assert listing.count('class="calendar-list-day') == 1 and "2 posts" in listing
    assert reverse("campaigns:post_reschedule", args=[first.pk]) in listing
    assert reverse("campaigns:post_reschedule", args=[second.pk]) in listing
    partial = signed_in_client.get(url, {"month": f"{month:%Y-%m}"}, headers=HTMX).content.decode()
    assert partial.lstrip().startswith('<section id="calendar"')


def test_a_drop_moves_the_post_to_the_day_at_its_time(signed_in_client, campaign, month):
    post = PostFactory(campaign=campaign, scheduled_at=at(month.replace(day=3), 14, 45))
    response = signed_in_client.post(
        reverse("campaigns:post_reschedule", args=[post.pk]),
        {"date": f"{month.replace(day=20):%Y-%m-%d}", "month": f"{month:%Y-%m}", "view": "month"},
        headers=HTMX,
    )
    post.refresh_from_db()
    assert post.scheduled_at == at(month.replace(day=20), 14, 45)
    html = response.content.decode()
    assert "moved to" in html and 'id="calendar"' in html


def test_the_form_moves_it_to_a_day_and_time_without_javascript(signed_in_client, campaign, month):
    post = PostFactory(campaign=campaign, scheduled_at=at(month.replace(day=3)))
    response = signed_in_client.post(
        reverse("campaigns:post_reschedule", args=[post.pk]),
        {"date": f"{month.replace(day=5):%Y-%m-%d}", "time": "18:15", "month": f"{month:%Y-%m}", "view": "list"},
    )
    assert response.status_code == 302 and response.url.endswith(f"?month={month:%Y-%m}&view=list")
    post.refresh_from_db()
    assert post.scheduled_at == at(month.replace(day=5), 18, 15)


def test_moves_into_the_past_or_of_unfinished_posts_are_refused(signed_in_client, campaign, month):
    post = PostFactory(campaign=campaign, scheduled_at=at(month.replace(day=3)))
    response = signed_in_client.post(
        reverse("campaigns:post_reschedule", args=[post.pk]), {"date": "2001-01-01"}, headers=HTMX
    )
    assert "Pick a time in the future." in response.content.decode()
    post.refresh_from_db()
    assert post.scheduled_at == at(month.replace(day=3))
    failed = PostFactory(campaign=campaign, status=GenerationStatus.FAILED, scheduled_at=None)
    response = signed_in_client.post(
        reverse("campaigns:post_reschedule", args=[failed.pk]), {"date": f"{month:%Y-%m-%d}"}, headers=HTMX
    )
    assert "Only a finished post can be scheduled." in response.content.decode()
    bad = signed_in_client.post(reverse("campaigns:post_reschedule", args=[post.pk]), {"date": "soon"}, headers=HTMX)
    assert "Enter a valid date." in bad.content.decode()


def test_someone_elses_post_cannot_be_moved(signed_in_client, other_user, month):
    theirs = PostFactory(campaign=CampaignFactory(owner=other_user), scheduled_at=at(month.replace(day=3)))
    response = signed_in_client.post(
        reverse("campaigns:post_reschedule", args=[theirs.pk]), {"date": f"{month:%Y-%m-%d}"}
    )
    assert response.status_code == 404
