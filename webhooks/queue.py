"""Putting deliveries on RQ's "default" queue (the workers run `rqworker clock generation default`)."""

import logging

import django_rq
from django.db.models import Q
from django.utils import timezone

from webhooks.models import DeliveryStatus, WebhookDelivery

log = logging.getLogger(__name__)
QUEUE_NAME = "default"


def enqueue_deliveries(delivery_ids: list[int]) -> None:
    queue = django_rq.get_queue(QUEUE_NAME)
    for delivery_id in delivery_ids:
        queue.enqueue("webhooks.delivery.deliver", delivery_id, job_timeout=120, result_ttl=0)


def enqueue_due_deliveries() -> int:
    """Enqueue the deliveries whose next attempt is due: retries, and first attempts a lost queue forgot.

    The clock has a worker call this every GENERATION_RECOVERY_INTERVAL seconds (clock.tasks),
    so a retry goes out when it comes due and a queue Redis lost is refilled from PostgreSQL. A
    delivery enqueued twice is attempted once: an attempt claims it with a conditional UPDATE
    that also moves its next_attempt_at past the attempt (webhooks.delivery).
    """
    due = list(
        WebhookDelivery.objects.filter(
            Q(next_attempt_at__lte=timezone.now()), status=DeliveryStatus.PENDING
        ).values_list("pk", flat=True)[:500]
    )
    if due:
        enqueue_deliveries(due)
        log.info("enqueued %d due webhook deliveries", len(due))
    return len(due)
