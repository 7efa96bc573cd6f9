"""A batch started while its campaign is deleted ends in a refusal, never a 500: both lock the
campaign's row (in 4 races of 5 it was a foreign key violation)."""

import pytest
from django.test import Client
from django.urls import reverse

from campaigns.models import (
    BatchJob,
    Post,
)
from tests.api_support import call, make_token
from tests.factories import CampaignFactory
from tests.support import all_at_once

# No input gives a 500: a batch started while its campaign is deleted.


@pytest.mark.django_db(transaction=True)
def test_a_batch_started_while_its_campaign_is_deleted_ends_in_a_refusal_never_a_500(user, settings):
    settings.ACTIVE_BATCHES_PER_USER = 20
    token = make_token(user, "write")
    settings.POSTS_PER_DAY_PER_USER = 1000
    # Each round is a coin toss of who gets there first; before the lock, about one round in four was a 500.
    for _ in range(15):
        campaign = CampaignFactory(owner=user)

        def start(campaign=campaign):
            return call(Client(), "POST", f"/campaigns/{campaign.pk}/batches", token, {"count": 3})

        def delete(campaign=campaign):
            browser = Client()
            browser.force_login(user)
            return browser.post(reverse("campaigns:delete", args=[campaign.pk]))

        started, deleted = all_at_once([start, delete])
        assert not isinstance(started, BaseException) and not isinstance(deleted, BaseException), (started, deleted)
        if started.status_code == 201:
            # The batch got there first: the delete is refused, with the reason, and the campaign stays.
            assert deleted.status_code == 200
            assert "A batch of this campaign is still running" in deleted.content.decode()
            assert Post.objects.filter(campaign=campaign).count() == 3
        else:
            # The delete got there first: the start is refused with a clear message, and nothing is left.
            assert started.status_code in (404, 409, 422), started.content
            assert "deleted" in started.json()["detail"] or started.status_code == 404
            assert deleted.status_code == 302
            assert not BatchJob.objects.filter(campaign_id=campaign.pk).exists()
