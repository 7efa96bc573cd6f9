"""Writes and reads of a workspace's webhook endpoints and deliveries, for their pages.

Managing them is the workspace's owners' (Action.MANAGE_WORKSPACE): every function that acts
for a user checks it first, as the campaigns services do (workspaces.access.require).
"""

import base64
import secrets

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from webhooks import queue
from webhooks.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint
from webhooks.targets import check_target
from workspaces.access import require
from workspaces.models import Workspace
from workspaces.roles import Action


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def check_events(events: list[str]) -> list[str]:
    unknown = [event for event in events if event not in Event.values]
    if unknown or not events:
        raise ValidationError({"events": f"Choose one or more of {', '.join(Event.values)}."})
    return [event for event in Event.values if event in events]


def endpoint_create(
    *, workspace: Workspace, actor: User, url: str, events: list[str], description: str = ""
) -> WebhookEndpoint:
    require(actor, workspace, Action.MANAGE_WORKSPACE)
    check_target(url)
    endpoint = WebhookEndpoint(
        workspace=workspace,
        created_by=actor,
        url=url,
        events=check_events(events),
        description=description.strip(),
        secret=new_secret(),
    )
    endpoint.full_clean()
    endpoint.save()
    return endpoint


def endpoint_update(
    *, endpoint: WebhookEndpoint, actor: User, url: str, events: list[str], description: str = ""
) -> WebhookEndpoint:
    require(actor, endpoint.workspace, Action.MANAGE_WORKSPACE)
    check_target(url)
    endpoint.url, endpoint.events, endpoint.description = url, check_events(events), description.strip()
    endpoint.full_clean()
    endpoint.save(update_fields=["url", "events", "description"])
    return endpoint


def endpoint_enable(*, endpoint: WebhookEndpoint, actor: User) -> WebhookEndpoint:
    """Turn an endpoint back on after it was disabled; its count of failures starts again."""
    require(actor, endpoint.workspace, Action.MANAGE_WORKSPACE)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=True, disabled_reason="", disabled_at=None, consecutive_failures=0
    )
    endpoint.refresh_from_db()
    return endpoint


def endpoint_disable(*, endpoint: WebhookEndpoint, actor: User) -> WebhookEndpoint:
    require(actor, endpoint.workspace, Action.MANAGE_WORKSPACE)
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False,
        disabled_at=now,
        disabled_reason=f"Disabled by {actor.get_username()} on {now:%Y-%m-%d %H:%M} UTC.",
    )
    endpoint.refresh_from_db()
    return endpoint


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, actor: User) -> WebhookEndpoint:
    require(actor, endpoint.workspace, Action.MANAGE_WORKSPACE)
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret"])
    return endpoint


def endpoint_delete(*, endpoint: WebhookEndpoint, actor: User) -> None:
    require(actor, endpoint.workspace, Action.MANAGE_WORKSPACE)
    endpoint.delete()


def delivery_redeliver(*, delivery: WebhookDelivery, actor: User) -> WebhookDelivery:
    """Send a delivery again now, with the same webhook-id, whatever became of it before."""
    require(actor, delivery.endpoint.workspace, Action.MANAGE_WORKSPACE)
    if not delivery.endpoint.is_active:
        raise ValidationError("Enable the endpoint before redelivering to it.")
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now(), last_error=""
        )
        transaction.on_commit(lambda: queue.enqueue_deliveries([delivery.pk]), robust=True)
    delivery.refresh_from_db()
    return delivery


def endpoints_of(workspace: Workspace) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(workspace=workspace)


def endpoint_for(*, workspace: Workspace, pk: int) -> WebhookEndpoint:
    return endpoints_of(workspace).select_related("workspace").get(pk=pk)


def delivery_for(*, workspace: Workspace, pk: int) -> WebhookDelivery:
    return WebhookDelivery.objects.select_related("endpoint__workspace").get(pk=pk, endpoint__workspace=workspace)


def deliveries_of(endpoint: WebhookEndpoint, *, limit: int = 50) -> list[WebhookDelivery]:
    return list(endpoint.deliveries.order_by("-created_at", "-id")[:limit])
