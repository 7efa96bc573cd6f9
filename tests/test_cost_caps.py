"""A batch's cost cap: the default one, lowered by a marketer, shown with the estimate, and the stop at it."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from campaigns.models import BatchJob, BatchStatus, GenerationStatus, Post
from campaigns.services import batch_start
from tests.factories import CampaignFactory
from tests.fake_openai import Config
from tests.support import wait_for_batch_end

HTMX = {"HX-Request": "true"}


@pytest.fixture
def default_cap(settings):
    settings.GENERATION_DEFAULT_COST_CAP_USD = Decimal("5.00")
    return settings


def test_every_batch_gets_the_default_cap_and_a_marketer_may_only_lower_it(default_cap, user, staff_user, campaign):
    assert batch_start(campaign=campaign, count=1, actor=user, enqueue=False).cost_cap_usd == Decimal("5.00")
    lowered = batch_start(campaign=campaign, count=1, actor=user, cost_cap_usd=Decimal("2.50"), enqueue=False)
    assert lowered.cost_cap_usd == Decimal("2.50")
    with pytest.raises(ValidationError, match=r"The cost cap can be at most \$5.00; staff can start a batch with more"):
        batch_start(campaign=campaign, count=1, actor=user, cost_cap_usd=Decimal("5.01"), enqueue=False)
    assert BatchJob.objects.count() == 2
    # Staff and the shell may go above it.
    assert batch_start(
        campaign=campaign, count=1, actor=None, requested_by=staff_user, cost_cap_usd=Decimal("80"), enqueue=False
    )
    assert batch_start(campaign=campaign, count=1, actor=None, cost_cap_usd=Decimal("80"), enqueue=False)


def test_no_default_cap_when_the_setting_is_off(settings, user, campaign):
    settings.GENERATION_DEFAULT_COST_CAP_USD = None
    assert batch_start(campaign=campaign, count=1, actor=user, enqueue=False).cost_cap_usd is None


def test_the_batch_form_shows_the_estimated_cost_before_starting(
    default_cap, openai_settings, signed_in_client, campaign
):
    """gpt-4o-mini and gpt-image-1 at the default prices: 700 + 300 tokens and an image, $0.042285 a post."""
    page = signed_in_client.get(campaign.get_absolute_url()).content.decode()
    assert "Estimated cost: <strong>$0.43</strong> for 10 posts (about $0.04 each)." in page
    assert 'name="cost_cap_usd" value="5.00"' in page and 'max="5.00"' in page
    estimate_url = reverse("campaigns:batch_estimate", args=[campaign.pk])
    html = signed_in_client.get(estimate_url, {"count": "500", "cost_cap_usd": "2"}, headers=HTMX).content.decode()
    assert "Estimated cost: <strong>$21.15</strong> for 500 posts" in html
    assert "The cap of $2.00 stops it after about 47 posts." in html
    html = signed_in_client.get(estimate_url, {"count": "nine"}, headers=HTMX).content.decode()
    assert "Choose from 1 to 1000 posts to see the estimated cost." in html


def test_the_page_refuses_a_cap_above_the_default_and_starts_a_lower_one(default_cap, signed_in_client, campaign):
    url = reverse("campaigns:batch_start", args=[campaign.pk])
    data = {"count": "3", "platforms": campaign.platforms[:1], "cost_cap_usd": "9"}
    html = signed_in_client.post(url, data, headers=HTMX).content.decode()
    assert "The cost cap can be at most $5.00" in html and not BatchJob.objects.exists()
    signed_in_client.post(url, {**data, "cost_cap_usd": "1.25"}, headers=HTMX)
    assert BatchJob.objects.get().cost_cap_usd == Decimal("1.25")


@pytest.mark.workers
def test_a_running_batch_stops_at_its_cap_and_its_other_posts_are_canceled_with_why(
    default_cap, workers, openai_settings, openai_env, fake_openai
):
    """A real worker, the default cap lowered to 10 cents: about two posts' worth of a 40-post batch."""
    fake_openai.configure(Config(text_latency=0.05, image_latency=0.05))
    workers.start("solo", **openai_env, GENERATION_CONCURRENCY=2)
    campaign = CampaignFactory()
    batch = batch_start(campaign=campaign, count=40, actor=campaign.owner, cost_cap_usd=Decimal("0.10"))
    wait_for_batch_end(batch, timeout=60)
    assert batch.status == BatchStatus.PARTIALLY_FAILED
    canceled = Post.objects.filter(batch=batch, status=GenerationStatus.CANCELED)
    assert batch.canceled_count == canceled.count() >= 30
    assert set(canceled.values_list("error_message", flat=True)) == {
        "Stopped: the batch reached its cost cap of $0.10."
    }
    assert batch.error_summary == "Stopped: the batch reached its cost cap of $0.10."
    # Past the cap only by the posts in flight when it was reached (2 here, and one being written).
    assert Decimal("0.10") <= batch.cost_usd <= Decimal("0.10") + 3 * Decimal("0.0423")


def test_posts_are_written_one_by_one_only_near_the_cap(campaign):
    """Far from its cap a batch's results are written in rounds (throughput); within what its posts in
    flight could spend, each is written at once so the cap stops it in time."""
    from generation import claims

    batch = batch_start(campaign=campaign, count=4, actor=None, cost_cap_usd=Decimal("1.00"), enqueue=False)
    BatchJob.objects.filter(pk=batch.pk).update(cost_usd=Decimal("0.50"))
    [far] = claims.claim_posts(owner="w", limit=1, lease_seconds=60, cap_margin_usd=Decimal("0.40"))
    [near] = claims.claim_posts(owner="w", limit=1, lease_seconds=60, cap_margin_usd=Decimal("0.60"))
    assert (far.near_cost_cap, near.near_cost_cap) == (False, True)
