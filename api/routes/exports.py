"""Exports: start one, then download it from its link (api.export_links)."""

from typing import Any

from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.urls import reverse
from django.utils.text import slugify
from ninja import Router, Status

from api import export_links, scope
from api.auth import READ
from api.problems import COMMON_ERRORS
from api.routes.campaigns import plain
from api.schemas import ExportIn, ExportOut
from campaigns.exports import csv_lines

router = Router(tags=["exports"])
FILTERS = ("status", "review", "platform", "batch_id")


def _described(request: HttpRequest, link: export_links.ExportLink) -> dict[str, Any]:
    return {
        "id": link.id,
        "status": "ready",
        "format": link.format,
        "campaign_id": link.campaign_id,
        "url": _download_url(request, link.id),
        "expires_at": link.expires_at,
    }


def _download_url(request: HttpRequest, export_id: str) -> str:
    return request.build_absolute_uri(reverse("api-v1:export_download", args=[export_id]))


@router.post("/exports", response={201: ExportOut, **COMMON_ERRORS}, auth=READ, summary="Start an export")
def export_start(request: HttpRequest, payload: ExportIn) -> Status[dict[str, Any]]:
    asked = plain(payload.model_dump())
    campaign = scope.campaign(request, asked["campaign_id"])
    link = export_links.export_start(
        user=scope.actor(request),
        campaign=campaign,
        format=asked["format"],
        filters={name: asked[name] for name in FILTERS if asked[name] is not None},
        absolute_url=lambda export_id: _download_url(request, export_id),
    )
    return Status(201, _described(request, link))


@router.get("/exports/{export_id}", response={200: ExportOut, **COMMON_ERRORS}, auth=READ, summary="Read an export")
def export_read(request: HttpRequest, export_id: str) -> dict[str, Any]:
    try:
        link = export_links.export_link(export_id)
    except export_links.ExportUnavailable as error:
        raise Http404(str(error)) from None
    if link.user_id != scope.actor(request).pk:
        raise Http404("No such export.")
    return _described(request, link)


@router.get(
    "/exports/{export_id}/download",
    response={404: COMMON_ERRORS[404], 429: COMMON_ERRORS[429]},
    auth=None,
    url_name="export_download",
    summary="Download an export (no token needed until it expires)",
    openapi_extra={
        "responses": {
            "200": {"description": "The posts as CSV.", "content": {"text/csv": {"schema": {"type": "string"}}}}
        }
    },
)
def export_download(request: HttpRequest, export_id: str) -> StreamingHttpResponse:
    try:
        campaign, posts = export_links.export_posts(export_links.export_link(export_id))
    except export_links.ExportUnavailable as error:
        raise Http404(str(error)) from None
    response = StreamingHttpResponse(csv_lines(posts), content_type="text/csv; charset=utf-8")
    name = slugify(campaign.name)[:60] or f"campaign-{campaign.pk}"
    response["Content-Disposition"] = f'attachment; filename="{name}-posts.csv"'
    return response
