"""One attempt at a delivery (the RQ job), its signature, and what follows a failure.

Headers follow Standard Webhooks: webhook-id (the message's id, the same on every retry),
webhook-timestamp (seconds) and webhook-signature ("v1,<base64 HMAC-SHA256>" of
"<id>.<timestamp>.<body>" with the endpoint's secret), signed with the `standardwebhooks`
package that receivers verify with.

A failed attempt (no answer, or a status outside 2xx) is retried after each of
WEBHOOK_RETRY_DELAYS in turn (about a day in all); when the last one fails too, the delivery
is failed and its endpoint disabled, with the reason on the endpoint's page. A success sets
the endpoint's count of failures in a row back to 0.
"""

import json
import logging
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from standardwebhooks import Webhook

from shared.outbound import TargetRefused, checked_addresses, pinned_client
from webhooks import queue
from webhooks.models import DeliveryFailure, DeliveryStatus, WebhookDelivery, WebhookEndpoint, failure_sentence

log = logging.getLogger(__name__)
USER_AGENT = "CampaignPosts-Webhooks/1"


def signed_request(endpoint: WebhookEndpoint, delivery: WebhookDelivery, now: datetime) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
    signature = Webhook(endpoint.secret).sign(msg_id=delivery.message_id, timestamp=now, data=body)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return body.encode(), headers


def _claim(delivery_id: int, now: datetime) -> WebhookDelivery | None:
    """Take a due delivery: one conditional UPDATE, so two jobs for one delivery make one attempt.

    next_attempt_at moves past the attempt's longest duration meanwhile, so that the sweep does
    not enqueue it again while it is in flight.
    """
    in_flight_until = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 60)
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(attempts=F("attempts") + 1, last_attempt_at=now, next_attempt_at=in_flight_until)
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)


def _send(endpoint: WebhookEndpoint, delivery: WebhookDelivery, now: datetime) -> tuple[int | None, str]:
    """(response status or None, failure code (DeliveryFailure); empty when delivered).

    The URL's host is resolved and judged once, and the request connects to those addresses only
    (shared/outbound.py): a name that answers differently the second time reaches nothing new.
    """
    try:
        addresses = checked_addresses(endpoint.url)
    except TargetRefused as refused:
        log.info("webhook delivery %s not sent: %s", delivery.pk, refused)
        return None, refused.reason
    body, headers = signed_request(endpoint, delivery, now)
    try:
        # Streamed and closed unread: only the status is kept, the receiver's body is never read.
        with (
            pinned_client(addresses, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as client,
            client.stream("POST", endpoint.url, content=body, headers=headers) as response,
        ):
            status_code = response.status_code
    except httpx.TimeoutException as error:
        log.info("webhook delivery %s timed out: %s", delivery.pk, f"{type(error).__name__}: {error}"[:300])
        return None, DeliveryFailure.TIMEOUT
    except httpx.HTTPError as error:
        log.info("webhook delivery %s could not connect: %s", delivery.pk, f"{type(error).__name__}: {error}"[:300])
        return None, DeliveryFailure.CONNECTION
    if 200 <= status_code < 300:
        return status_code, ""
    return status_code, DeliveryFailure.HTTP_STATUS


def deliver(delivery_id: int) -> str:
    """The RQ job: make one attempt at a delivery if it is due. Returns what happened, for the job's log."""
    now = timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return "not due"
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED, next_attempt_at=None, last_error=DeliveryFailure.ENDPOINT_DISABLED
        )
        return "endpoint disabled"
    response_status, error = _send(endpoint, delivery, now)
    if not error:
        with transaction.atomic():
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                status=DeliveryStatus.SUCCEEDED, response_status=response_status, next_attempt_at=None, last_error=""
            )
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0)
        return "delivered"
    return _failed(delivery, response_status=response_status, error=error, now=now)


def _failed(delivery: WebhookDelivery, *, response_status: int | None, error: str, now: datetime) -> str:
    delays: list[float] = list(settings.WEBHOOK_RETRY_DELAYS)
    retries_left = delivery.attempts <= len(delays)
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(
            consecutive_failures=F("consecutive_failures") + 1
        )
        if retries_left:
            delay = delays[delivery.attempts - 1]
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                response_status=response_status, last_error=error, next_attempt_at=now + timedelta(seconds=delay)
            )
            if delay <= 0:
                transaction.on_commit(lambda: queue.enqueue_deliveries([delivery.pk]), robust=True)
            log.info("webhook delivery %s failed (%s); retry in %ss", delivery.pk, error, delay)
            return f"failed, retry in {delay}s"
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED, response_status=response_status, last_error=error, next_attempt_at=None
        )
        span = now - delivery.created_at
        hours = span.total_seconds() / 3600
        reason = (
            f"Disabled on {now:%Y-%m-%d %H:%M} UTC: a {delivery.event} message failed all {delivery.attempts} "
            f"attempts over {hours:.1f} hours; the last one: {failure_sentence(error, response_status)}"
        )
        WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, is_active=True).update(
            is_active=False, disabled_reason=reason, disabled_at=now
        )
    log.warning("webhook endpoint %s disabled: %s", delivery.endpoint_id, reason)
    return "failed, endpoint disabled"
