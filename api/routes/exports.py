"""Exports: start one, then download it from its link.

A CSV is written while it is downloaded (campaigns.exports.csv_lines, as the campaign page's
export), so an export is ready as soon as it is started: its id is a signed, expiring
description of what to export, and its link works without a token (for tools that fetch a URL)
until it expires, for as long as its user may still see the campaign.
"""

import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.urls import reverse
from django.utils.text import slugify
from ninja import Router, Status

from api.auth import READ
from api.problems import COMMON_ERRORS
from api.routes.campaigns import plain
from api.schemas import ExportIn, ExportOut
from campaigns import selectors
from campaigns.exports import csv_lines

router = Router(tags=["exports"])
SALT = "api.export"
FILTERS = ("status", "review", "platform", "batch_id")


def _described(request: HttpRequest, export_id: str, order: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": export_id,
        "status": "ready",
        "format": order["format"],
        "campaign_id": order["campaign_id"],
        "url": request.build_absolute_uri(reverse("api-v1:export_download", args=[export_id])),
        "expires_at": datetime.fromtimestamp(order["expires"], tz=UTC),
    }


def _order(export_id: str) -> dict[str, Any]:
    """The export an id describes, or Http404 when it was not signed here or has expired."""
    try:
        order = signing.loads(export_id, salt=SALT)
    except signing.BadSignature:
        raise Http404("No such export.") from None
    if order["expires"] < time.time():
        raise Http404("This export's link has expired; start a new export.")
    return order


@router.post("/exports", response={201: ExportOut, **COMMON_ERRORS}, auth=READ, summary="Start an export")
def export_start(request: HttpRequest, payload: ExportIn) -> Status[dict[str, Any]]:
    asked = plain(payload.model_dump())
    campaign = selectors.campaign_for(user=request.user, pk=asked["campaign_id"])  # type: ignore[arg-type]
    order = {
        "user": request.user.pk,
        "campaign_id": campaign.pk,
        "format": asked["format"],
        "filters": {name: asked[name] for name in FILTERS if asked[name] is not None},
        "expires": int(time.time()) + settings.API_EXPORT_LINK_SECONDS,
    }
    export_id = signing.dumps(order, salt=SALT)
    return Status(201, _described(request, export_id, order))


@router.get("/exports/{export_id}", response={200: ExportOut, **COMMON_ERRORS}, auth=READ, summary="Read an export")
def export_read(request: HttpRequest, export_id: str) -> dict[str, Any]:
    order = _order(export_id)
    if order["user"] != request.user.pk:
        raise Http404("No such export.")
    return _described(request, export_id, order)


@router.get(
    "/exports/{export_id}/download",
    response={404: COMMON_ERRORS[404], 429: COMMON_ERRORS[429]},
    auth=None,
    url_name="export_download",
    openapi_extra={
        "responses": {
            "200": {"description": "The posts as CSV.", "content": {"text/csv": {"schema": {"type": "string"}}}}
        }
    },
    summary="Download an export (no token needed until it expires)",
)
def export_download(request: HttpRequest, export_id: str) -> StreamingHttpResponse:
    order = _order(export_id)
    user = User.objects.filter(pk=order["user"], is_active=True).first()
    if user is None:
        raise Http404("No such export.")
    campaign = selectors.campaign_for(user=user, pk=order["campaign_id"])
    posts = selectors.campaign_posts(campaign, **order["filters"])
    response = StreamingHttpResponse(csv_lines(posts), content_type="text/csv; charset=utf-8")
    name = slugify(campaign.name)[:60] or f"campaign-{campaign.pk}"
    response["Content-Disposition"] = f'attachment; filename="{name}-posts.csv"'
    return response
