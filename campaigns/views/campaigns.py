"""Campaign pages: the list, create/edit with a live caption preview, the campaign page, the calendar."""

import secrets
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import push_url

from campaigns import selectors, services
from campaigns.budgets import monthly_budget
from campaigns.forms import BatchForm, CampaignForm
from campaigns.models import MAX_BATCH_SIZE, BatchMode, Campaign
from campaigns.views.calendar import month_from
from campaigns.views.grid import post_grid_context
from generation import dispatch
from shared.http import login_required
from shared.rate_counter import window_usage
from workspaces.access import require
from workspaces.roles import Action
from workspaces.view_access import AuthenticatedHttpRequest, allowed_on, owned_or_404

CAMPAIGNS_PER_PAGE = 20
SORT_CHOICES = [
    ("newest", "Newest first"),
    ("updated", "Recently updated"),
    ("name", "Name A–Z"),
    ("-name", "Name Z–A"),
    ("oldest", "Oldest first"),
]


@login_required
@require_GET
@vary_on_headers("HX-Request")
def campaign_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:100]
    sort = request.GET.get("sort", "newest")
    if sort not in selectors.CAMPAIGN_SORTS:
        sort = "newest"
    campaigns = selectors.campaign_list(user=request.user, workspace=request.workspace, search=search, sort=sort)
    page = Paginator(campaigns, CAMPAIGNS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "search": search, "sort": sort, "sort_choices": SORT_CHOICES, "nav": "campaigns"}
    # A history restore (back button after a search, htmx's cache missed) needs the whole page.
    partial = request.htmx and not request.htmx.history_restore_request
    template = "campaigns/campaign_list.html#results" if partial else "campaigns/campaign_list.html"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    workspace = request.workspace
    require(request.user, workspace, Action.EDIT_CAMPAIGN)  # before the form: no empty form for a viewer
    form = CampaignForm(request.POST or None, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.campaign_create(
                workspace=workspace, owner=request.user, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Campaign “{campaign.name}” created. Generate its first posts below.")
            return redirect(campaign)
    return render(request, "campaigns/campaign_form.html", {"form": form, "nav": "new"})


@login_required
@require_http_methods(["GET", "POST"])
def campaign_update(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    campaign = owned_or_404(selectors.campaign_for, user=request.user, pk=pk)
    require(request.user, campaign.workspace, Action.EDIT_CAMPAIGN)
    form = CampaignForm(request.POST or None, instance=campaign, workspace=campaign.workspace)
    if request.method == "POST" and form.is_valid():
        try:
            services.campaign_update(campaign=campaign, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Campaign saved.")
            return redirect(campaign)
    return render(request, "campaigns/campaign_form.html", {"form": form, "campaign": campaign})


@login_required
@require_http_methods(["GET", "POST"])
def campaign_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation (a campaign may hold thousands of posts); POST deletes."""
    campaign = owned_or_404(selectors.campaign_for, user=request.user, pk=pk)
    require(request.user, campaign.workspace, Action.EDIT_CAMPAIGN)
    error = ""
    if request.method == "POST":
        try:
            services.campaign_delete(campaign=campaign, actor=request.user)
        except ValidationError as exc:
            error = exc.messages[0]
        else:
            messages.success(request, f"Campaign “{campaign.name}” deleted.")
            return redirect("campaigns:list")
    return render(request, "campaigns/campaign_confirm_delete.html", {"campaign": campaign, "error": error})


@login_required
@require_POST
def campaign_duplicate(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A copy of the brief, no posts: opened in its edit page to rename or adjust it."""
    campaign = owned_or_404(selectors.campaign_for, user=request.user, pk=pk)
    copy = services.campaign_duplicate(campaign=campaign, actor=request.user)
    messages.success(request, f"“{copy.name}” created from the brief of “{campaign.name}”, without its posts.")
    return redirect("campaigns:update", pk=copy.pk)


@login_required
@require_POST
def campaign_preview(request: AuthenticatedHttpRequest) -> HttpResponse:
    """One caption per chosen platform from the brief as typed (not saved). POST: it spends provider calls,
    so each user gets PREVIEWS_PER_MINUTE of them; batches share the provider's quota."""
    require(request.user, request.workspace, Action.EDIT_CAMPAIGN)
    form = CampaignForm(request.POST, workspace=request.workspace)
    form.is_valid()
    platforms = form.cleaned_data.get("platforms") or []
    context: dict[str, Any] = {"previews": [], "hint": ""}
    previews = window_usage(
        group="previews", key=str(request.user.pk), limit=settings.PREVIEWS_PER_MINUTE, period_seconds=60
    )
    if previews.exceeded:
        context["hint"] = "That was a lot of previews in a minute: wait a moment, then ask again."
    elif not form.cleaned_data.get("brief") or not platforms:
        context["hint"] = "Describe the campaign's goal and choose at least one platform to see sample captions."
    else:
        # The form's unsaved campaign, with what was valid of the brief. Its name as typed: on the
        # edit page the form calls the campaign's own name a duplicate.
        campaign = form.instance
        campaign.name = " ".join(request.POST.get("name", "").split())[:120] or "Your campaign"
        # "Write new samples" asks for another angle; a first preview shows the first, to compare like with like.
        variant = 1 + secrets.randbelow(10_000) if request.POST.get("shuffle") else 0
        context["previews"] = dispatch.preview_captions(campaign=campaign, platforms=platforms, variant=variant)
    return render(request, "campaigns/campaign_form.html#preview", context)


def batch_estimate_context(form: BatchForm) -> dict[str, Any]:
    """What the batch form tells before a batch starts: its estimated cost for the count and cap as typed."""
    economy = False
    if form.is_bound:
        form.is_valid()
        count, cap = form.cleaned_data.get("count"), form.cleaned_data.get("cost_cap_usd")
        economy = form.cleaned_data.get("mode") == BatchMode.ECONOMY
    else:
        count, cap = form.fields["count"].initial, form.fields["cost_cap_usd"].initial
    if count is None:
        return {"estimate": None, "max_batch_size": MAX_BATCH_SIZE}
    per_post = dispatch.post_cost_estimate(economy=economy)
    total = services.batch_estimate(count=count, economy=economy)
    # How many posts the cap pays for, when it stops the batch before its end.
    within_cap = int(cap // per_post) if cap is not None and per_post and total > cap else None
    budget = monthly_budget(form.campaign.workspace, post_cost=per_post)
    over_budget = budget is not None and min(total, cap if cap is not None else total) > budget.left
    return {
        "estimate": {"count": count, "per_post": per_post, "total": total, "cap": cap, "within_cap": within_cap},
        "budget": budget,
        "over_budget": over_budget,
    }


def campaign_page_context(
    request: AuthenticatedHttpRequest, campaign: Campaign, *, batch_form: BatchForm | None = None
) -> dict[str, Any]:
    batches = selectors.campaign_batches(campaign)
    batch_form = batch_form or BatchForm(campaign=campaign, user=request.user)
    return {
        **batch_estimate_context(batch_form),
        "campaign": campaign,
        "allowed": allowed_on(campaign),
        "batches": batches,
        "active_batches": [batch for batch in batches if batch.is_active],
        "batch_form": batch_form,
        "posts_url": reverse("campaigns:posts", args=[campaign.pk]),
        **post_grid_context(campaign, request.GET, batches=batches),
    }


@login_required
@require_GET
def campaign_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    campaign = owned_or_404(selectors.campaign_for, user=request.user, pk=pk)
    return render(request, "campaigns/campaign_detail.html", campaign_page_context(request, campaign))


@login_required
@require_GET
@vary_on_headers("HX-Request")
def campaign_batch_history(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The campaign page's table of batches, for htmx when a batch starts or ends."""
    campaign = owned_or_404(selectors.campaign_for, user=request.user, pk=pk)
    if not request.htmx:
        return redirect(campaign)
    context = {"campaign": campaign, "batches": selectors.campaign_batches(campaign)}
    return render(request, "campaigns/campaign_detail.html#batch-history", context)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def campaign_posts(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The posts grid alone, for htmx: the filtered first page, or with ?after= the next page of cards."""
    campaign = owned_or_404(selectors.campaign_for, user=request.user, pk=pk)
    detail_url = reverse("campaigns:detail", args=[campaign.pk])
    if not request.htmx:
        return redirect(f"{detail_url}?{request.GET.urlencode()}" if request.GET else detail_url)
    context = {
        "campaign": campaign,
        "allowed": allowed_on(campaign),
        "posts_url": request.path,
        **post_grid_context(campaign, request.GET, batches=[]),
    }
    if request.GET.get("after"):
        return render(request, "campaigns/partials/post_grid.html#page", context)
    response = render(request, "campaigns/partials/post_grid.html#results", context)
    if request.GET.get("push"):
        # The address bar shows the campaign page with these filters, so a reload keeps them.
        query = context["filter_query"]
        push_url(response, f"{detail_url}?{query}" if query else detail_url)
    return response


@login_required
@require_GET
def campaign_calendar(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    campaign = owned_or_404(selectors.campaign_for, user=request.user, pk=pk)
    first_day = month_from(request.GET.get("month", ""))
    month = selectors.calendar_month(campaign, year=first_day.year, month=first_day.month)
    return render(request, "campaigns/campaign_calendar.html", {"campaign": campaign, "month": month})
