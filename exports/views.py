"""Downloads of a campaign's posts, filtered as on screen: a CSV streamed at once, and a ZIP with the
CSV and the images made by a worker (exports.jobs), with its progress page and download link."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseGone, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from campaigns import selectors
from campaigns.forms import PostFilterForm
from campaigns.models import Campaign
from exports import selectors as exports_selectors
from exports import services as export_services
from exports.models import ExportStatus
from exports.writers import csv_lines, posts_to_export
from shared.http import login_required
from shared.media import deliver
from workspaces.view_access import AuthenticatedHttpRequest, owned_or_404


def _export(request: AuthenticatedHttpRequest, pk: int) -> tuple[Campaign, dict[str, Any], str]:
    """The campaign, the grid's filters from the query string, and a file name without extension:
    campaign slug, the filters, and today's date ("summer-launch-posts-approved-x-2025-06-01")."""
    campaign = owned_or_404(selectors.campaign_for, user=request.user, pk=pk)
    filter_form = PostFilterForm(request.GET)
    filters = filter_form.filters()
    labels = [str(filters[key]) for key in ("review", "status", "platform") if key in filters]
    if "batch_id" in filters:
        labels.append(f"batch-{filters['batch_id']}")
    name = "-".join([slugify(campaign.name)[:60] or f"campaign-{campaign.pk}", "posts", *labels])
    return campaign, filters, f"{name}-{timezone.localdate():%Y-%m-%d}"


def _refused(request: AuthenticatedHttpRequest, pk: int, refusal: ValidationError) -> HttpResponseBase:
    """An export the user's limit refused: back to the campaign page, which tells why there is no file."""
    messages.error(request, refusal.messages[0])
    return redirect("campaigns:detail", pk=pk)


@login_required
@require_GET
def campaign_export_csv(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    campaign, filters, name = _export(request, pk)
    try:
        posts = posts_to_export(campaign=campaign, actor=request.user, filters=filters)
    except ValidationError as refusal:
        return _refused(request, pk, refusal)
    response = StreamingHttpResponse(csv_lines(posts), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@login_required
@require_POST
def campaign_export_zip(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    """Start a ZIP export of the posts on screen; its page shows the progress, then the link."""
    campaign, filters, name = _export(request, pk)
    try:
        export = export_services.export_zip_start(
            campaign=campaign, actor=request.user, filters=filters, download_name=f"{name}.zip"
        )
    except ValidationError as refusal:
        return _refused(request, pk, refusal)
    return redirect(export)


@login_required
@require_GET
def export_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The export's page; htmx polls its #progress partial until the export has ended."""
    export = owned_or_404(exports_selectors.export_for, user=request.user, pk=pk)
    context = {"export": export, "campaign": export.campaign, "expired": export.is_expired()}
    if request.htmx:
        return render(request, "exports/export_detail.html#progress", context)
    return render(request, "exports/export_detail.html", context)


@login_required
@require_GET
def export_download(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    """The export's file, for those who may see its campaign, until its link expires (410 after)."""
    export = owned_or_404(exports_selectors.export_for, user=request.user, pk=pk)
    if export.status != ExportStatus.SUCCEEDED or not export.file:
        return redirect(export)
    if export.is_expired():
        return HttpResponseGone("This download link has expired: export the posts again.", content_type="text/plain")
    return deliver(export.file.name, download_as=export.download_name)
