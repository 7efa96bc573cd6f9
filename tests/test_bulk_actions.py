"""Bulk actions in the grid: many posts approved, rejected, deleted or scheduled in one request and one
transaction, with a summary; scheduling spreads them over days at a cadence in the person's time zone."""

import re
import zoneinfo
from datetime import date, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.services import profile_set_time_zone
from campaigns.models import GenerationStatus, Post, ReviewStatus
from campaigns.services.bulk import SpreadPlan, check_spread_plan, posts_bulk_apply
from tests.factories import CampaignFactory, PostFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


def bulk_url(campaign) -> str:
    return reverse("campaigns:posts_bulk", args=[campaign.pk])


@pytest.fixture
def posts(campaign):
    ready = [PostFactory(campaign=campaign, platform="instagram") for _ in range(4)]
    busy = PostFactory(
        campaign=campaign, status=GenerationStatus.GENERATING, caption="", lease_expires_at=timezone.now()
    )
    failed = PostFactory(campaign=campaign, platform="x", status=GenerationStatus.FAILED, caption="")
    return {"ready": ready, "busy": busy, "failed": failed}


def test_approve_the_ticked_posts_skips_unfinished_ones(signed_in_client, campaign, posts):
    picked = [posts["ready"][0].pk, posts["ready"][1].pk, posts["failed"].pk]
    response = signed_in_client.post(bulk_url(campaign), {"action": "approve", "post": picked}, headers=HTMX)
    html = response.content.decode()
    assert "Approved 2 posts. 1 skipped: only finished posts can be approved." in html
    assert set(Post.objects.filter(review_status=ReviewStatus.APPROVED).values_list("pk", flat=True)) == set(picked[:2])
    assert 'id="post-grid"' in html  # the grid came back


def test_all_matching_the_filter_takes_only_those(signed_in_client, campaign, posts):
    other = PostFactory(campaign=CampaignFactory(owner=campaign.owner), platform="instagram")
    response = signed_in_client.post(
        bulk_url(campaign), {"action": "reject", "all_matching": "1", "platform": "instagram"}, headers=HTMX
    )
    assert "Rejected 4 posts." in response.content.decode()
    rejected = set(Post.objects.filter(review_status=ReviewStatus.REJECTED).values_list("pk", flat=True))
    assert rejected == {post.pk for post in posts["ready"]}  # not the X post, nor another campaign's
    other.refresh_from_db()
    assert other.review_status == ReviewStatus.DRAFT


def test_delete_leaves_posts_in_generation_alone(signed_in_client, campaign, posts):
    response = signed_in_client.post(bulk_url(campaign), {"action": "delete", "all_matching": "1"}, headers=HTMX)
    assert "Deleted 5 posts. 1 skipped: they are being generated." in response.content.decode()
    assert list(Post.objects.filter(campaign=campaign)) == [posts["busy"]]


def test_someone_elses_posts_are_never_touched(signed_in_client, campaign, other_user):
    theirs = PostFactory(campaign=CampaignFactory(owner=other_user))
    response = signed_in_client.post(bulk_url(campaign), {"action": "delete", "post": [theirs.pk]}, headers=HTMX)
    assert "Deleted 0 posts." in response.content.decode()
    assert Post.objects.filter(pk=theirs.pk).exists()
    assert (
        signed_in_client.post(bulk_url(theirs.campaign), {"action": "delete", "all_matching": "1"}).status_code == 404
    )


def test_nothing_selected_or_an_unknown_action_is_refused(signed_in_client, campaign, posts):
    html = signed_in_client.post(bulk_url(campaign), {"action": "approve"}, headers=HTMX).content.decode()
    assert "Select posts first" in html
    html = signed_in_client.post(bulk_url(campaign), {"action": "publish", "all_matching": "1"}, headers=HTMX)
    assert "Select a valid choice" in html.content.decode()
    assert not Post.objects.filter(review_status=ReviewStatus.APPROVED).exists()


def test_without_javascript_it_redirects_with_the_summary(signed_in_client, campaign, posts):
    response = signed_in_client.post(
        bulk_url(campaign), {"action": "approve", "all_matching": "1", "review": "draft"}, follow=True
    )
    assert response.redirect_chain[-1][0] == campaign.get_absolute_url() + "?review=draft"
    assert "Approved 4 posts. 2 skipped" in response.content.decode()


def test_schedule_one_a_day_at_nine_in_the_persons_time_zone(signed_in_client, user, campaign, posts):
    profile_set_time_zone(user=user, time_zone="Asia/Tokyo")
    signed_in_client.force_login(user)  # a new session: the middleware reads the zone again
    first = timezone.now().astimezone(TOKYO).date() + timedelta(days=2)
    response = signed_in_client.post(
        bulk_url(campaign),
        {
            "action": "schedule",
            "all_matching": "1",
            "first_day": first.isoformat(),
            "last_day": (first + timedelta(days=9)).isoformat(),
            "cadence": "daily",
        },
        headers=HTMX,
    )
    html = response.content.decode()
    assert re.search(r"Scheduled 4 posts from \w+ \d+, 09:00 to \w+ \d+, 09:00\. 2 skipped", html), html
    times = [
        post.scheduled_at.astimezone(TOKYO)
        for post in Post.objects.filter(scheduled_at__isnull=False).order_by("created_at", "id")
    ]
    assert times == [datetime.combine(first + timedelta(days=n), time(9), tzinfo=TOKYO) for n in range(4)]
    # Oldest post first.
    assert [p.pk for p in Post.objects.filter(scheduled_at__isnull=False).order_by("scheduled_at")] == [
        p.pk for p in posts["ready"]
    ]


def test_schedule_n_a_day_at_given_times(signed_in_client, campaign, posts):
    first = timezone.localdate() + timedelta(days=1)
    signed_in_client.post(
        bulk_url(campaign),
        {
            "action": "schedule",
            "post": [post.pk for post in posts["ready"]],
            "first_day": first.isoformat(),
            "last_day": (first + timedelta(days=1)).isoformat(),
            "cadence": "times",
            "times": "18:30, 09:00",
        },
        headers=HTMX,
    )
    slots = [
        timezone.localtime(p.scheduled_at) for p in Post.objects.exclude(scheduled_at=None).order_by("scheduled_at")
    ]
    assert [(s.date(), s.strftime("%H:%M")) for s in slots] == [
        (first, "09:00"),
        (first, "18:30"),
        (first + timedelta(days=1), "09:00"),
        (first + timedelta(days=1), "18:30"),
    ]


def test_a_schedule_with_too_few_slots_changes_nothing(signed_in_client, campaign, posts):
    first = timezone.localdate() + timedelta(days=1)
    response = signed_in_client.post(
        bulk_url(campaign),
        {"action": "schedule", "all_matching": "1", "first_day": first, "last_day": first + timedelta(days=1)},
        headers=HTMX,
    )
    assert "4 posts need 4 slots, and this plan has 2 slots left" in response.content.decode()
    assert not Post.objects.exclude(scheduled_at=None).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"first_day": "2030-01-05", "last_day": "2030-01-01"}, "on or after the first day"),
        ({"first_day": "2030-01-01", "last_day": "2030-01-02", "cadence": "times", "times": "9am"}, "not a time"),
        ({"first_day": "2030-01-01", "last_day": "2030-01-02", "cadence": "times", "times": ""}, "at least one time"),
        ({"first_day": "2030-01-01"}, "a first and a last day"),
    ],
)
def test_schedule_refusals(signed_in_client, campaign, posts, data, message):
    response = signed_in_client.post(
        bulk_url(campaign), {"action": "schedule", "all_matching": "1", **data}, headers=HTMX
    )
    assert message in response.content.decode()
    assert not Post.objects.exclude(scheduled_at=None).exists()


def test_slots_skip_the_past_and_follow_the_zone(settings):
    with timezone.override(TOKYO):
        plan = check_spread_plan(first_day=date(2030, 3, 1), last_day=date(2030, 3, 2), times=[time(9), time(9)])
        assert plan.times == (time(9),)
        slots = plan.slots(after=datetime(2030, 3, 1, 9, tzinfo=TOKYO))
    assert slots == [datetime(2030, 3, 2, 9, tzinfo=TOKYO)]


def test_one_transaction_a_refusal_undoes_nothing_half_done(campaign, posts):
    plan = SpreadPlan(first_day=date(2001, 1, 1), last_day=date(2001, 1, 2), times=(time(9),))
    with pytest.raises(ValidationError):
        posts_bulk_apply(
            campaign=campaign, posts=Post.objects.filter(campaign=campaign), action="schedule", actor=None, plan=plan
        )
    assert not Post.objects.exclude(scheduled_at=None).exists()


def test_the_grid_offers_bulk_actions_and_cards_have_checkboxes(signed_in_client, campaign, posts):
    html = signed_in_client.get(campaign.get_absolute_url()).content.decode()
    assert 'id="bulk-form"' in html
    assert html.count('class="bulk-check"') == 6
