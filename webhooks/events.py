"""The domain's events (campaigns.signals, exports.signals) as webhook deliveries: one per
subscribed endpoint, written in the transaction that made the change and enqueued on commit.

The receivers below are connected in WebhooksConfig.ready().
"""

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from campaigns.models import BatchJob, BatchStatus, Post
from webhooks import queue
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint

BATCH_EVENTS = {
    BatchStatus.SUCCEEDED: Event.BATCH_SUCCEEDED,
    BatchStatus.FAILED: Event.BATCH_FAILED,
    BatchStatus.PARTIALLY_FAILED: Event.BATCH_FAILED,
    BatchStatus.CANCELED: Event.BATCH_CANCELED,
}


def emit(*, workspace_id: int, event: str, data: dict[str, Any]) -> list[int]:
    """Write one delivery for each active endpoint of the workspace subscribed to `event`; their ids."""
    return emit_each(workspace_id=workspace_id, event=event, items=[data])


def emit_each(*, workspace_id: int, event: str, items: list[dict[str, Any]]) -> list[int]:
    """One message per item of `items` (its `data`), to each subscribed endpoint: the endpoints are
    read once however many items there are (a bulk approval of thousands of posts)."""
    # A workspace has a few endpoints: filtered here, as SQLite (make run's default) has no JSON "contains".
    active = WebhookEndpoint.objects.filter(workspace_id=workspace_id, is_active=True).only("pk", "events")
    endpoints = [endpoint for endpoint in active if event in endpoint.events]
    if not endpoints:
        return []
    now = timezone.now()
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint=endpoint,
                message_id=f"msg_{uuid.uuid4().hex}",
                event=event,
                payload={"type": event, "timestamp": now.isoformat(), "data": data},
                next_attempt_at=now,
            )
            for data in items
            for endpoint in endpoints
        ],
        batch_size=500,
    )
    ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(lambda: queue.enqueue_deliveries(ids), robust=True)
    return ids


def batch_data(batch: BatchJob) -> dict[str, Any]:
    return {
        "batch_id": batch.pk,
        "campaign_id": batch.campaign_id,
        "status": batch.status,
        "requested_count": batch.requested_count,
        "succeeded_count": batch.succeeded_count,
        "failed_count": batch.failed_count,
        "canceled_count": batch.canceled_count,
        "cost_usd": str(batch.cost_usd),
        "finished_at": batch.finished_at.isoformat() if batch.finished_at else None,
    }


def batch_ended(sender: object, *, batch_id: int, **kwargs: object) -> None:
    """The batch has its final status (set once: generation's finalize_batch, or batch_cancel)."""
    batch = BatchJob.objects.select_related("campaign").get(pk=batch_id)
    event = BATCH_EVENTS.get(BatchStatus(batch.status))
    if event is not None:
        emit(workspace_id=batch.campaign.workspace_id, event=event, data=batch_data(batch))


def posts_approved(sender: object, *, workspace_id: int, posts: list[Post], **kwargs: object) -> None:
    """post.approved for each of `posts` (of one workspace), with the words that were approved."""
    items = [
        {
            "post_id": post.pk,
            "campaign_id": post.campaign_id,
            "batch_id": post.batch_id,
            "platform": post.platform,
            "caption": post.caption,
            "hashtags": post.hashtags,
        }
        for post in posts
    ]
    emit_each(workspace_id=workspace_id, event=Event.POST_APPROVED, items=items)


def export_ready(
    sender: object,
    *,
    workspace_id: int,
    campaign_id: int,
    export_id: str,
    format: str,
    url: str,
    expires_at: str,
    **kwargs: object,
) -> None:
    """A CSV when the API starts it (written while downloaded); a ZIP when its job has stored it."""
    emit(
        workspace_id=workspace_id,
        event=Event.EXPORT_READY,
        data={
            "export_id": export_id,
            "campaign_id": campaign_id,
            "format": format,
            "url": url,
            "expires_at": expires_at,
        },
    )
