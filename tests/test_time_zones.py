"""Each person has a time zone: taken from the browser at the first sign-in, changeable in their settings,
and used by every time on the pages, by scheduling and by the calendar."""

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile
from accounts.services import profile_adopt_browser_time_zone, profile_set_time_zone
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
PASSWORD = "correct-horse-battery"


def sign_in(client, user, **extra):
    return client.post(reverse("login"), {"username": user.username, "password": PASSWORD, **extra})


def test_the_first_sign_in_takes_the_browsers_zone_and_later_ones_keep_it(client):
    user = UserFactory()
    assert sign_in(client, user, time_zone="America/New_York").status_code == 302
    assert Profile.objects.get(user=user).time_zone == "America/New_York"
    client.logout()
    sign_in(client, user, time_zone="Europe/Berlin")
    assert Profile.objects.get(user=user).time_zone == "America/New_York"


def test_a_browser_zone_that_is_no_zone_is_ignored(client):
    user = UserFactory()
    sign_in(client, user, time_zone="Mars/Olympus_Mons")
    assert not Profile.objects.filter(user=user).exclude(time_zone="").exists()
    assert profile_adopt_browser_time_zone(user=user, time_zone="") is False


def test_settings_change_the_zone_and_refuse_unknown_ones(signed_in_client, user):
    url = reverse("accounts:settings")
    assert "Time zone" in signed_in_client.get(url).content.decode()
    response = signed_in_client.post(url, {"time_zone": "Asia/Tokyo"}, follow=True)
    assert "times are now shown in Asia/Tokyo" in response.content.decode()
    assert Profile.objects.get(user=user).time_zone == "Asia/Tokyo"
    assert "<strong>Asia/Tokyo</strong>" in signed_in_client.get(url).content.decode()
    refused = signed_in_client.post(url, {"time_zone": "Nowhere/Else"})
    assert "Select a valid choice" in refused.content.decode()
    assert Profile.objects.get(user=user).time_zone == "Asia/Tokyo"


def test_scheduling_reads_the_time_in_the_persons_zone(signed_in_client, user, campaign):
    profile_set_time_zone(user=user, time_zone="Asia/Tokyo")
    signed_in_client.force_login(user)
    post = PostFactory(campaign=campaign)
    day = timezone.now().date() + timedelta(days=3)
    signed_in_client.post(
        reverse("campaigns:post_schedule", args=[post.pk]), {"scheduled_at": f"{day}T09:30"}, headers=HTMX
    )
    post.refresh_from_db()
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    assert post.scheduled_at == datetime(day.year, day.month, day.day, 9, 30, tzinfo=tokyo)
    # The card shows it at the same clock time, and names the zone.
    card = signed_in_client.get(reverse("campaigns:post_card", args=[post.pk]), headers=HTMX).content.decode()
    assert f"{post.scheduled_at.astimezone(tokyo):%b} {day.day} · 09:30" in card
    assert "Schedule (Asia/Tokyo)" in card


def test_calendar_days_are_the_persons_days(signed_in_client, user, campaign):
    # 23:30 UTC is already the next day in Tokyo.
    moment = datetime(2031, 5, 10, 23, 30, tzinfo=zoneinfo.ZoneInfo("UTC"))
    PostFactory(campaign=campaign, scheduled_at=moment)
    url = reverse("campaigns:schedule") + "?view=list&month=2031-05"
    assert "Saturday, May 10" in signed_in_client.get(url).content.decode()
    profile_set_time_zone(user=user, time_zone="Asia/Tokyo")
    signed_in_client.logout()  # the session keeps the zone it read; a new one reads it again
    signed_in_client.force_login(user)
    html = signed_in_client.get(url).content.decode()
    assert "Sunday, May 11" in html and "08:30" in html


def test_the_default_zone_applies_until_one_is_set(signed_in_client, settings):
    html = signed_in_client.get(reverse("accounts:settings")).content.decode()
    assert f"<strong>{settings.TIME_ZONE}</strong>" in html
