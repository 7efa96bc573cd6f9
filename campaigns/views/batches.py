"""Batches: start one from the campaign page, watch it live, cancel it, retry its failures."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from campaigns import selectors, services
from campaigns.forms import BatchForm
from campaigns.models import BatchJob
from campaigns.progress_panel import PROGRESS_PANEL, next_poll_seconds, seen_done_count
from campaigns.services.activity import batch_activity
from campaigns.views.campaigns import batch_estimate_context, campaign_page_context
from campaigns.views.grid import post_grid_context
from shared.http import login_required
from workspaces.view_access import AuthenticatedHttpRequest, allowed_on, owned_or_404


def _progress_context(batch: BatchJob, allowed: dict[str, bool], **extra: Any) -> dict[str, Any]:
    return {
        "batch": batch,
        "poll_url": reverse("campaigns:batch_progress", args=[batch.pk]),
        "show_actions": True,
        "allowed": allowed,
        **extra,
    }


@login_required
@require_POST
def batch_start(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    campaign = owned_or_404(selectors.campaign_for, user=request.user, pk=pk)
    form = BatchForm(request.POST, campaign=campaign, user=request.user)
    batch = None
    if form.is_valid():
        try:
            batch = services.batch_start(
                campaign=campaign,
                count=form.cleaned_data["count"],
                platforms=form.cleaned_data["platforms"],
                cost_cap_usd=form.cleaned_data["cost_cap_usd"],
                mode=form.cleaned_data["mode"],
                actor=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
    if not request.htmx:
        if batch is not None:
            count = batch.requested_count
            message = (
                ngettext(
                    "Batch #%(pk)d started: %(n)d post ready within 24 hours.",
                    "Batch #%(pk)d started: %(n)d posts ready within 24 hours.",
                    count,
                )
                if batch.is_economy
                else ngettext(
                    "Batch #%(pk)d started: %(n)d post on its way.",
                    "Batch #%(pk)d started: %(n)d posts on their way.",
                    count,
                )
            )
            messages.success(request, message % {"pk": batch.pk, "n": count})
            return redirect(batch)
        context = campaign_page_context(request, campaign, batch_form=form)
        return render(request, "campaigns/campaign_detail.html", context)
    if batch is None:
        context = {
            "campaign": campaign,
            "batch_form": form,
            "allowed": allowed_on(campaign),
            **batch_estimate_context(form),
        }
        return render(request, "campaigns/campaign_detail.html#batch-form", context)
    # A fresh form, and the new batch's live panel placed out of band at the top of the panels.
    fresh = BatchForm(campaign=campaign, user=request.user)
    context = {"campaign": campaign, "batch_form": fresh, "started_batch": batch, **batch_estimate_context(fresh)}
    context.update(_progress_context(batch, allowed_on(campaign)))
    response = render(request, "campaigns/campaign_detail.html#batch-form", context)
    return trigger_client_event(response, "batch-started", {"batch": batch.pk})


@login_required
@require_GET
def batch_estimate(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The batch form's estimate for the count and cap as typed (the form asks again as they change)."""
    campaign = owned_or_404(selectors.campaign_for, user=request.user, pk=pk)
    form = BatchForm(request.GET, campaign=campaign, user=request.user)
    return render(
        request, "campaigns/campaign_detail.html#batch-estimate", {"campaign": campaign, **batch_estimate_context(form)}
    )


@login_required
@require_GET
def batch_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    batch = owned_or_404(selectors.batch_for, user=request.user, pk=pk)
    campaign = batch.campaign
    context = {
        "campaign": campaign,
        "batch": batch,
        "posts_url": reverse("campaigns:posts", args=[campaign.pk]),
        "activities": batch_activity(batch),
        **_progress_context(batch, allowed_on(batch)),
        **post_grid_context(campaign, request.GET, batch=batch),
    }
    return render(request, "campaigns/batch_detail.html", context)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def batch_progress(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The live panel, polling itself (campaigns.progress_panel): one indexed read of the batch row."""
    batch = owned_or_404(selectors.batch_progress, user=request.user, pk=pk)
    if not request.htmx:
        return redirect("campaigns:batch_detail", pk=pk)
    poll_seconds = next_poll_seconds(done_count=batch.done_count, query=request.GET)
    allowed = allowed_on(batch)
    response = render(request, PROGRESS_PANEL, _progress_context(batch, allowed, poll_seconds=poll_seconds))
    if not batch.is_active:
        return trigger_client_event(response, "batch-finished", {"batch": batch.pk})
    seen = seen_done_count(request.GET)
    if seen is not None and batch.done_count > seen:
        trigger_client_event(response, "posts-arrived", {"batch": batch.pk})
    if request.GET.get("status", batch.status) != batch.status:
        trigger_client_event(response, "batch-status-changed", {"batch": batch.pk, "status": batch.status})
    return response


def _batch_action_response(
    request: AuthenticatedHttpRequest, batch: BatchJob, *, notice: str, event: str
) -> HttpResponse:
    if not request.htmx:
        messages.info(request, notice)
        return redirect(batch)
    batch = selectors.batch_progress(user=request.user, pk=batch.pk)
    allowed = allowed_on(batch)
    response = render(request, PROGRESS_PANEL, _progress_context(batch, allowed, notice=notice))
    return trigger_client_event(response, event, {"batch": batch.pk})


@login_required
@require_POST
def batch_cancel(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    batch = owned_or_404(selectors.batch_for, user=request.user, pk=pk)
    try:
        canceled = services.batch_cancel(batch=batch, actor=request.user)
    except ValidationError as error:
        return _batch_action_response(request, batch, notice=error.messages[0], event="batch-finished")
    notice = ngettext(
        "Batch canceled: %(n)d post will not be generated.",
        "Batch canceled: %(n)d posts will not be generated.",
        canceled,
    ) % {"n": canceled}
    return _batch_action_response(request, batch, notice=notice, event="batch-finished")


@login_required
@require_POST
def batch_retry(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    batch = owned_or_404(selectors.batch_for, user=request.user, pk=pk)
    try:
        retried = services.batch_retry_failed(batch=batch, actor=request.user)
    except ValidationError as error:
        return _batch_action_response(request, batch, notice=error.messages[0], event="batch-finished")
    notice = ngettext("Trying %(n)d failed post again.", "Trying %(n)d failed posts again.", retried) % {"n": retried}
    return _batch_action_response(request, batch, notice=notice, event="batch-started")
