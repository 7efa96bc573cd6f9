"""Downloads of a campaign's posts, filtered as on screen: a CSV, and a ZIP with the CSV and the images."""

import tempfile

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from campaigns import selectors
from campaigns.exports import csv_lines, posts_to_export, write_zip
from campaigns.forms import PostFilterForm
from campaigns.models import Campaign, Post
from campaigns.views.access import AuthenticatedHttpRequest, login_required, owned_or_404


def _export(request: AuthenticatedHttpRequest, pk: int) -> tuple[Campaign, QuerySet[Post], str]:
    """The campaign, its posts filtered by the query string, and a file name without extension:
    campaign slug, the filters, and today's date ("summer-launch-posts-approved-x-2025-06-01").

    Raises ValidationError when the user's export limit refuses it (see _refused)."""
    campaign = owned_or_404(selectors.campaign_for, user=request.user, pk=pk)
    filter_form = PostFilterForm(request.GET)
    filters = filter_form.filters()
    posts = posts_to_export(campaign=campaign, actor=request.user, filters=filters)
    labels = [str(filters[key]) for key in ("review", "status", "platform") if key in filters]
    if "batch_id" in filters:
        labels.append(f"batch-{filters['batch_id']}")
    name = "-".join([slugify(campaign.name)[:60] or f"campaign-{campaign.pk}", "posts", *labels])
    return campaign, posts, f"{name}-{timezone.localdate():%Y-%m-%d}"


def _refused(request: AuthenticatedHttpRequest, pk: int, refusal: ValidationError) -> HttpResponseBase:
    """A download link was followed: back to the campaign page, which tells why there is no file."""
    messages.error(request, refusal.messages[0])
    return redirect("campaigns:detail", pk=pk)


@login_required
@require_GET
def campaign_export_csv(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    try:
        _campaign, posts, name = _export(request, pk)
    except ValidationError as refusal:
        return _refused(request, pk, refusal)
    response = StreamingHttpResponse(csv_lines(posts), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@login_required
@require_GET
def campaign_export_zip(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    try:
        _campaign, posts, name = _export(request, pk)
    except ValidationError as refusal:
        return _refused(request, pk, refusal)
    # Written to a temporary file (images can be large), then streamed from it.
    archive = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    write_zip(posts, archive)
    archive.seek(0)
    return FileResponse(archive, as_attachment=True, filename=f"{name}.zip", content_type="application/zip")
