"""Issue 15's small fixes: a live batches table, a campaign duplicated from its brief, readable admin lists."""

import json

import pytest
from django.urls import reverse

from campaigns.models import BatchStatus, Campaign
from tests.factories import BatchFactory, CampaignFactory, PostFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def test_a_poll_that_sees_a_new_status_tells_the_batches_table(signed_in_client, campaign):
    batch = BatchFactory(campaign=campaign, status=BatchStatus.RUNNING)
    url = reverse("campaigns:batch_progress", args=[batch.pk])
    response = signed_in_client.get(url, {"seen": 0, "wait": 1, "status": "queued"}, headers=HTMX)
    assert json.loads(response.headers["HX-Trigger"])["batch-status-changed"] == {
        "batch": batch.pk,
        "status": "running",
    }
    same = signed_in_client.get(url, {"seen": 0, "wait": 1, "status": "running"}, headers=HTMX)
    assert "batch-status-changed" not in same.headers.get("HX-Trigger", "")
    page = signed_in_client.get(campaign.get_absolute_url()).content.decode()
    assert "batch-status-changed from:body" in page


def test_duplicate_copies_the_brief_only(signed_in_client, user):
    original = CampaignFactory(owner=user, name="Summer", keywords=["cold brew", "ice"], platforms=["x", "linkedin"])
    PostFactory(campaign=original)
    url = reverse("campaigns:duplicate", args=[original.pk])
    response = signed_in_client.post(url)
    copy = Campaign.objects.get(name="Summer (copy)")
    assert response.status_code == 302 and response.url == reverse("campaigns:update", args=[copy.pk])
    assert (copy.brief, copy.keywords, copy.platforms, copy.owner) == (
        original.brief,
        original.keywords,
        original.platforms,
        user,
    )
    assert not copy.posts.exists() and not copy.batches.exists()
    signed_in_client.post(url)
    assert Campaign.objects.filter(name="Summer (copy 2)").exists()


def test_duplicate_of_someone_elses_campaign_is_not_found(signed_in_client, other_user):
    theirs = CampaignFactory(owner=other_user)
    assert signed_in_client.post(reverse("campaigns:duplicate", args=[theirs.pk])).status_code == 404
    assert signed_in_client.get(reverse("campaigns:duplicate", args=[theirs.pk])).status_code == 405


def test_admin_shows_platform_names(staff_client):
    campaign = CampaignFactory(platforms=["linkedin", "x", "tiktok"])
    batch = BatchFactory(campaign=campaign, platforms=["linkedin", "tiktok"])
    listing = staff_client.get(reverse("admin:campaigns_campaign_changelist")).content.decode()
    assert "LinkedIn, X, TikTok" in listing
    page = staff_client.get(reverse("admin:campaigns_batchjob_change", args=[batch.pk])).content.decode()
    assert "LinkedIn, TikTok" in page and "[&quot;linkedin&quot;" not in page
