"""Exports started through the API: a signed, expiring description of what to export.

A CSV is written while it is downloaded (exports.writers.csv_lines, as the campaign page's
export does), so an export is ready as soon as it is started. Its id is what to export (user,
campaign, filters, expiry) signed with SECRET_KEY; its link works without a token (for tools
that fetch a URL) until it expires, and only while its user may still export the campaign
(a member of its workspace with a role that allows it). It holds what the page's export holds
(exports.writers): where the workspace requires approval, approved posts only.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet

from campaigns import selectors
from campaigns.models import Campaign, Post
from exports import signals
from exports.models import Export
from exports.writers import allow_export, exportable_posts
from workspaces.access import NotMember, require
from workspaces.roles import Action

SALT = "api.export"


class ExportUnavailable(Exception):
    """Not an export signed here, expired, or its user may no longer see it."""


@dataclass(frozen=True)
class ExportLink:
    id: str
    user_id: int
    campaign_id: int
    format: str
    filters: dict[str, Any]
    expires_at: datetime


def _link(export_id: str, order: dict[str, Any]) -> ExportLink:
    return ExportLink(
        id=export_id,
        user_id=order["user"],
        campaign_id=order["campaign_id"],
        format=order["format"],
        filters=order["filters"],
        expires_at=datetime.fromtimestamp(order["expires"], tz=UTC),
    )


def export_start(
    *, user: User, campaign: Campaign, format: str, filters: dict[str, Any], absolute_url: Any
) -> ExportLink:
    """Start an export of the campaign's posts (filtered as campaign_posts takes them); emits export.ready.

    Refused as the page's export is (allow_export: the role, then the per-minute limit).
    `absolute_url(export_id)` gives the link's full URL for the webhook's payload.
    """
    allow_export(campaign=campaign, actor=user)
    order = {
        "user": user.pk,
        "campaign_id": campaign.pk,
        "format": format,
        "filters": filters,
        "expires": int(time.time()) + settings.API_EXPORT_LINK_SECONDS,
    }
    link = _link(signing.dumps(order, salt=SALT), order)
    with transaction.atomic():
        signals.export_ready.send(
            sender=Export,
            workspace_id=campaign.workspace_id,
            campaign_id=campaign.pk,
            export_id=link.id,
            format=link.format,
            url=absolute_url(link.id),
            expires_at=link.expires_at.isoformat(),
        )
    return link


def export_link(export_id: str) -> ExportLink:
    try:
        order = signing.loads(export_id, salt=SALT)
    except signing.BadSignature:
        raise ExportUnavailable("No such export.") from None
    if order["expires"] < time.time():
        raise ExportUnavailable("This export's link has expired; start a new export.")
    return _link(export_id, order)


def export_posts(link: ExportLink) -> tuple[Campaign, QuerySet[Post]]:
    """The campaign and posts an export holds, as its user may see them now."""
    user = get_user_model().objects.filter(pk=link.user_id, is_active=True).first()
    if user is None:
        raise ExportUnavailable("No such export.")
    try:
        campaign = selectors.campaign_for(user=user, pk=link.campaign_id)
        require(user, campaign.workspace, Action.EXPORT)
    except (Campaign.DoesNotExist, NotMember, PermissionDenied):
        raise ExportUnavailable("No such export.") from None
    return campaign, exportable_posts(campaign, link.filters)
