"""Economy batches on the marketer's page and in the admin: start one, see the provider's state."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from campaigns.models import BatchJob, BatchMode, GenerationStatus, Post
from campaigns.services import batch_start
from generation.models import BatchPhase, ProviderBatch
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def start(client, campaign, **data):
    url = reverse("campaigns:batch_start", args=[campaign.pk])
    return client.post(url, {"count": "6", "platforms": campaign.platforms, **data}, headers=HTMX)


def test_the_page_starts_an_economy_batch(signed_in_client, user, openai_settings):
    campaign = CampaignFactory(owner=user)
    form = signed_in_client.get(campaign.get_absolute_url()).content.decode()
    assert 'name="mode" value="economy"' in form and "about half the cost" in form
    response = start(signed_in_client, campaign, mode="economy")
    assert response.status_code == 200
    batch = BatchJob.objects.get(campaign=campaign)
    assert batch.mode == BatchMode.ECONOMY
    # Its posts wait for the provider, not for the chunk jobs; its first provider batch is ready to go.
    assert set(Post.objects.filter(batch=batch).values_list("status", flat=True)) == {GenerationStatus.GENERATING}
    assert ProviderBatch.objects.get(batch=batch).phase == BatchPhase.CAPTIONS
    panel = response.content.decode()
    assert "Economy" in panel and "Waiting to be sent to the provider." in panel


def test_the_panel_shows_the_providers_state_and_counts(signed_in_client, user, openai_settings):
    batch = batch_start(campaign=CampaignFactory(owner=user), count=100, mode=BatchMode.ECONOMY, actor=None)
    progress = {"phase": "captions", "round": 0, "status": "in_progress", "total": 100, "completed": 38}
    BatchJob.objects.filter(pk=batch.pk).update(provider_progress={**progress, "failed": 2, "provider_batches": 1})
    url = reverse("campaigns:batch_progress", args=[batch.pk])
    panel = signed_in_client.get(url, headers=HTMX).content.decode()
    assert "Captions at the provider: in progress, 40 of 100 done, 2 failed." in panel
    assert "within 24 h" in panel  # no ETA worked out from a pace the provider does not keep
    assert "hx-trigger" in panel  # still polling


def test_the_page_refuses_economy_without_a_batch_api(signed_in_client, user, settings):
    settings.GENERATION_PROVIDER = "local"
    campaign = CampaignFactory(owner=user)
    response = start(signed_in_client, campaign, mode="economy")
    assert "needs a provider with a Batch API" in response.content.decode()
    assert not BatchJob.objects.exists()


def test_the_admin_action_starts_economy_batches_and_the_batch_page_lists_them(staff_client, openai_settings):
    campaign = CampaignFactory()
    url = reverse("admin:campaigns_campaign_changelist")
    data = {"action": "start_batch", "_selected_action": [campaign.pk], "apply": "1", "count": "3"}
    refused = staff_client.post(url, {**data, "mode": "economy", "cost_cap_usd": "5"})
    assert "takes no cost cap" in refused.content.decode()
    response = staff_client.post(url, {**data, "mode": "economy"}, follow=True)
    assert any(str(m).startswith("Started 1 batch") for m in get_messages(response.wsgi_request))
    batch = BatchJob.objects.get(campaign=campaign)
    assert batch.mode == BatchMode.ECONOMY
    ProviderBatch.objects.filter(batch=batch).update(provider_batch_id="batch_abc123", status="validating")
    page = staff_client.get(reverse("admin:campaigns_batchjob_change", args=[batch.pk])).content.decode()
    assert "batch_abc123" in page and "Validating" in page
