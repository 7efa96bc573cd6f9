"""Exports: a CSV is ready at once (api.export_links); a ZIP is a job (exports.jobs) to poll.

Both are downloaded from /exports/{id}/download without a token: a CSV's id is its signed
description, a ZIP's link carries a signed `link` (exports.links).
"""

from typing import Any

from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from ninja import Router, Status

from api import export_links, reach
from api.auth import READ
from api.problems import COMMON_ERRORS
from api.routes.campaigns import plain
from api.schemas import ExportFormat, ExportIn, ExportOut, ExportState
from campaigns.models import Campaign
from exports import links as zip_links
from exports import services as export_services
from exports.models import Export, ExportStatus
from exports.writers import csv_lines
from shared.media import deliver

router = Router(tags=["exports"])
FILTERS = ("status", "review", "platform", "batch_id")
STALLED = "The export did not finish (its worker stopped, or it took too long): start a new one."


def _csv_described(request: HttpRequest, link: export_links.ExportLink) -> dict[str, Any]:
    return {
        "id": link.id,
        "status": ExportState.READY,
        "format": link.format,
        "campaign_id": link.campaign_id,
        "done_count": None,
        "total_count": None,
        "url": _download_url(request, link.id),
        "expires_at": link.expires_at,
        "error": None,
    }


def _zip_described(request: HttpRequest, export: Export) -> dict[str, Any]:
    described: dict[str, Any] = {
        "id": str(export.pk),
        "format": ExportFormat.ZIP,
        "campaign_id": export.campaign_id,
        "done_count": export.done_count,
        "total_count": export.total_count,
        "url": None,
        "expires_at": None,
        "error": None,
    }
    if export.status == ExportStatus.SUCCEEDED and export.is_expired():
        described["status"] = ExportState.EXPIRED
    elif export.status == ExportStatus.SUCCEEDED:
        link = zip_links.zip_link_for(export=export, user=reach.actor(request))
        described.update(
            status=ExportState.READY, url=request.build_absolute_uri(link.path), expires_at=link.expires_at
        )
    elif export.status == ExportStatus.FAILED or export.has_stalled:
        described.update(status=ExportState.FAILED, error=export.error_message or STALLED)
    else:
        described["status"] = ExportState(export.status)
    return described


def _download_url(request: HttpRequest, export_id: str) -> str:
    return request.build_absolute_uri(reverse("api-v1:export_download", args=[export_id]))


def _zip_name(campaign: Campaign) -> str:
    return f"{slugify(campaign.name)[:60] or f'campaign-{campaign.pk}'}-posts-{timezone.localdate():%Y-%m-%d}.zip"


def _zip_number(export_id: str) -> int | None:
    """A ZIP export's id is its number; a CSV's is a signed string, never all digits."""
    if not (export_id.isascii() and export_id.isdigit()):
        return None
    if int(export_id) >= 2**63:  # past bigint: no such row, and no database error
        raise Http404("No such export.")
    return int(export_id)


@router.post(
    "/exports",
    response={201: ExportOut, **COMMON_ERRORS},
    auth=READ,
    summary="Start an export",
    description=(
        "`csv`: ready at once, with a link. `zip` (the CSV and the images): queued for a worker; read the "
        "export until its status is `ready`, then download it from its `url`. Either counts against the "
        "user's `EXPORTS_PER_MINUTE`: past it, 429 with `Retry-After`. Where the workspace requires approval, "
        "an export holds approved posts only."
    ),
)
def export_start(request: HttpRequest, payload: ExportIn) -> Status[dict[str, Any]]:
    asked = plain(payload.model_dump())
    campaign = reach.campaign(request, asked["campaign_id"])
    filters = {name: asked[name] for name in FILTERS if asked[name] is not None}
    if asked["format"] == ExportFormat.ZIP:
        export = export_services.export_zip_start(
            campaign=campaign, actor=reach.actor(request), filters=filters, download_name=_zip_name(campaign)
        )
        return Status(201, _zip_described(request, export))
    link = export_links.export_start(
        user=reach.actor(request),
        campaign=campaign,
        format=asked["format"],
        filters=filters,
        absolute_url=lambda export_id: _download_url(request, export_id),
    )
    return Status(201, _csv_described(request, link))


@router.get(
    "/exports/{export_id}",
    response={200: ExportOut, **COMMON_ERRORS},
    auth=READ,
    summary="Read an export (a ZIP's progress, and its link once ready)",
)
def export_read(request: HttpRequest, export_id: str) -> dict[str, Any]:
    number = _zip_number(export_id)
    if number is not None:
        return _zip_described(request, reach.export(request, number))
    try:
        link = export_links.export_link(export_id)
    except export_links.ExportUnavailable as error:
        raise Http404(str(error)) from None
    if link.user_id != reach.actor(request).pk:
        raise Http404("No such export.")
    return _csv_described(request, link)


@router.get(
    "/exports/{export_id}/download",
    response={404: COMMON_ERRORS[404], 429: COMMON_ERRORS[429]},
    auth=None,
    url_name="export_download",
    summary="Download an export (no token needed until its link expires)",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The posts as CSV, or a ZIP of posts.csv and the images.",
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/zip": {"schema": {"type": "string", "format": "binary"}},
                },
            }
        }
    },
)
def export_download(request: HttpRequest, export_id: str, link: str | None = None) -> HttpResponseBase:
    if _zip_number(export_id) is not None:
        try:
            export = zip_links.export_for_link(export_id=export_id, link=link or "")
        except zip_links.LinkUnavailable as error:
            raise Http404(str(error)) from None
        return deliver(export.file.name, download_as=export.download_name)
    try:
        campaign, posts = export_links.export_posts(export_links.export_link(export_id))
    except export_links.ExportUnavailable as error:
        raise Http404(str(error)) from None
    response = StreamingHttpResponse(csv_lines(posts), content_type="text/csv; charset=utf-8")
    name = slugify(campaign.name)[:60] or f"campaign-{campaign.pk}"
    response["Content-Disposition"] = f'attachment; filename="{name}-posts.csv"'
    return response
