"""Webhooks: signed deliveries from a real worker to a real receiver, retries, disabling, SSRF."""

import json
from datetime import timedelta

import django_rq
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from standardwebhooks import Webhook

from campaigns import services as campaign_services
from campaigns.models import BatchStatus
from tests.api_support import call, make_token
from tests.factories import CampaignFactory, PostFactory
from tests.support import wait_for
from tests.webhook_receiver import WebhookReceiver
from webhooks import services
from webhooks.delivery import deliver
from webhooks.models import DeliveryStatus, Event, WebhookDelivery
from webhooks.queue import QUEUE_NAME, enqueue_due_deliveries
from workspaces.services.workspaces import personal_workspace


@pytest.fixture
def receiver():
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def private_targets(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    return settings


@pytest.mark.workers
@pytest.mark.slow
def test_a_batch_started_over_the_api_ends_in_a_signed_webhook_verified_by_the_receiver(
    client, user, receiver, private_targets, workers
):
    endpoint = services.endpoint_create(
        workspace=personal_workspace(user),
        actor=user,
        url=receiver.url,
        events=[Event.BATCH_SUCCEEDED, Event.POST_APPROVED],
    )
    workers.start("hooks-1", WEBHOOK_ALLOW_PRIVATE_TARGETS="1")
    campaign = CampaignFactory(owner=user)
    token = make_token(user)
    batch = call(client, "POST", f"/campaigns/{campaign.pk}/batches", token, {"count": 3}).json()
    wait_for(lambda: receiver.received, timeout=90, message="the batch.succeeded webhook")

    message = receiver.received[0]
    assert message.path == "/hooks"
    # What a receiver does: verify the signature and the timestamp with the standardwebhooks library.
    payload = Webhook(endpoint.secret).verify(message.body, message.headers)
    assert payload["type"] == "batch.succeeded"
    assert payload["data"]["batch_id"] == batch["id"] and payload["data"]["succeeded_count"] == 3
    assert message.headers["webhook-id"].startswith("msg_")
    with pytest.raises(Exception, match="signature"):
        Webhook(services.new_secret()).verify(message.body, message.headers)

    post_id = call(client, "GET", f"/posts?batch_id={batch['id']}&limit=1", token).json()["items"][0]["id"]
    assert call(client, "POST", f"/posts/{post_id}/approve", token).status_code == 200
    wait_for(lambda: len(receiver.received) == 2, timeout=30, message="the post.approved webhook")
    approved = Webhook(endpoint.secret).verify(receiver.received[1].body, receiver.received[1].headers)
    assert approved["type"] == "post.approved" and approved["data"]["post_id"] == post_id
    delivered = WebhookDelivery.objects.filter(endpoint=endpoint)
    # The worker records each answer once it has it, a moment after the receiver took the message.
    wait_for(lambda: not delivered.filter(response_status=None).exists(), timeout=30, message="the answers recorded")
    assert {d.status for d in delivered} == {DeliveryStatus.SUCCEEDED}
    assert {d.response_status for d in delivered} == {204}


@pytest.mark.workers
@pytest.mark.slow
def test_a_worker_retries_a_failed_delivery_when_it_comes_due(user, receiver, private_targets, workers):
    """The retry waits in PostgreSQL; a worker's recovery round enqueues it once due, and it goes through."""
    receiver.status = 503
    endpoint = services.endpoint_create(
        workspace=personal_workspace(user), actor=user, url=receiver.url, events=[Event.POST_APPROVED]
    )
    workers.start("hooks-retry", WEBHOOK_ALLOW_PRIVATE_TARGETS="1", WEBHOOK_RETRY_DELAYS="[2]")
    campaign_services.post_review(
        post=PostFactory(campaign=CampaignFactory(owner=user)), decision="approved", actor=None
    )
    wait_for(lambda: len(receiver.received) == 1, timeout=30, message="the first attempt")
    receiver.status = 204
    wait_for(lambda: len(receiver.received) == 2, timeout=30, message="the retry")
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    wait_for(lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SUCCEEDED, timeout=10)
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.response_status == 204
    first, retry = receiver.received
    assert first.headers["webhook-id"] == retry.headers["webhook-id"]
    assert int(retry.headers["webhook-timestamp"]) >= int(first.headers["webhook-timestamp"]) + 2


@pytest.mark.django_db
def test_a_failing_endpoint_is_retried_on_schedule_then_disabled_with_the_reason_shown(
    signed_in_client, user, private_targets, django_capture_on_commit_callbacks
):
    private_targets.WEBHOOK_RETRY_DELAYS = [0, 300]
    with WebhookReceiver(status=500) as receiver:
        endpoint = services.endpoint_create(
            workspace=personal_workspace(user), actor=user, url=receiver.url, events=[Event.POST_APPROVED]
        )
        post = PostFactory(campaign=CampaignFactory(owner=user))
        with django_capture_on_commit_callbacks(execute=False):
            campaign_services.post_review(post=post, decision="approved", actor=None)
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)

        assert deliver(delivery.pk) == "failed, retry in 0s"  # the first retry comes at once
        assert deliver(delivery.pk) == "failed, retry in 300s"
        assert deliver(delivery.pk) == "not due"  # five minutes later, not before
        assert len(receiver.received) == 2
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.PENDING and delivery.response_status == 500

        # Five minutes on: the workers' sweep finds it due and puts it on the queue.
        django_rq.get_queue(QUEUE_NAME).empty()
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        with django_capture_on_commit_callbacks(execute=True):  # django-rq enqueues on commit
            assert enqueue_due_deliveries() == 1
        assert django_rq.get_queue(QUEUE_NAME).count == 1
        assert deliver(delivery.pk) == "failed, endpoint disabled"
        assert len(receiver.received) == 3
        # Every attempt carried the same webhook-id, so that a receiver can tell a retry from a new message.
        assert len({message.headers["webhook-id"] for message in receiver.received}) == 1

    endpoint.refresh_from_db()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 3
    assert not endpoint.is_active and endpoint.consecutive_failures == 3
    assert "failed all 3 attempts" in endpoint.disabled_reason and "HTTP 500" in endpoint.disabled_reason
    page = signed_in_client.get(f"/settings/webhooks/{endpoint.pk}/").content.decode()
    assert "failed all 3 attempts" in page and "Redeliver" in page

    # A disabled endpoint is sent nothing, and cannot be redelivered to until it is enabled.
    other = PostFactory(campaign=post.campaign)
    campaign_services.post_review(post=other, decision="approved", actor=None)
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 1
    with pytest.raises(ValidationError):
        services.delivery_redeliver(delivery=delivery, actor=user)

    with WebhookReceiver(status=200) as healthy:
        services.endpoint_update(endpoint=endpoint, actor=user, url=healthy.url, events=endpoint.events)
        services.endpoint_enable(endpoint=endpoint, actor=user)
        with django_capture_on_commit_callbacks(execute=False):
            response = signed_in_client.post(f"/settings/webhooks/deliveries/{delivery.pk}/redeliver/")
        assert response.status_code == 302
        assert deliver(delivery.pk) == "delivered"
        assert len(healthy.received) == 1
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.consecutive_failures == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "ftp://example.com/hook",
    ],
)
def test_private_loopback_and_link_local_targets_are_refused(user, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(ValidationError) as refused:
        services.endpoint_create(
            workspace=personal_workspace(user), actor=user, url=url, events=[Event.BATCH_SUCCEEDED]
        )
    assert "url" in refused.value.message_dict
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    if url.startswith("http"):
        services.endpoint_create(
            workspace=personal_workspace(user), actor=user, url=url, events=[Event.BATCH_SUCCEEDED]
        )


@pytest.mark.django_db
def test_a_target_that_turned_private_is_not_called(
    user, private_targets, receiver, django_capture_on_commit_callbacks
):
    endpoint = services.endpoint_create(
        workspace=personal_workspace(user), actor=user, url=receiver.url, events=[Event.POST_APPROVED]
    )
    private_targets.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    with django_capture_on_commit_callbacks(execute=False):
        campaign_services.post_review(
            post=PostFactory(campaign=CampaignFactory(owner=user)), decision="approved", actor=None
        )
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    deliver(delivery.pk)
    delivery.refresh_from_db()
    assert receiver.received == []
    assert "private or local address" in delivery.last_error


@pytest.mark.django_db
def test_events_reach_only_the_owners_subscribed_active_endpoints(user, other_user, private_targets):
    mine = services.endpoint_create(
        workspace=personal_workspace(user), actor=user, url="http://127.0.0.1:9/a", events=[Event.BATCH_CANCELED]
    )
    services.endpoint_create(
        workspace=personal_workspace(user), actor=user, url="http://127.0.0.1:9/b", events=[Event.POST_APPROVED]
    )
    services.endpoint_create(
        workspace=personal_workspace(other_user),
        actor=other_user,
        url="http://127.0.0.1:9/c",
        events=[Event.BATCH_CANCELED],
    )
    campaign = CampaignFactory(owner=user)
    batch = campaign_services.batch_start(campaign=campaign, count=2, enqueue=False, actor=None)
    campaign_services.batch_cancel(batch=batch, actor=None)
    assert batch.status == BatchStatus.CANCELED
    deliveries = list(WebhookDelivery.objects.all())
    assert [d.endpoint_id for d in deliveries] == [mine.pk]
    assert deliveries[0].payload["data"]["canceled_count"] == 2
    assert json.loads(json.dumps(deliveries[0].payload))["type"] == "batch.canceled"


@pytest.mark.django_db
def test_the_endpoint_pages_are_the_owners_only(signed_in_client, other_user, private_targets):
    theirs = services.endpoint_create(
        workspace=personal_workspace(other_user),
        actor=other_user,
        url="http://127.0.0.1:9/x",
        events=[Event.POST_APPROVED],
    )
    assert signed_in_client.get(f"/settings/webhooks/{theirs.pk}/").status_code == 404
    assert signed_in_client.post(f"/settings/webhooks/{theirs.pk}/state/", {"action": "delete"}).status_code == 404
    response = signed_in_client.post(
        "/settings/webhooks/", {"url": "http://127.0.0.1:9/mine", "events": ["batch.failed"]}
    )
    assert response.status_code == 302
    assert "whsec_" in signed_in_client.get(response["Location"]).content.decode()
