"""Post actions. With htmx each answers with the one card it changed; without JavaScript the
same URLs take a plain form POST and send the browser back to the post's page."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from campaigns import selectors, services
from campaigns.forms import BulkActionForm, CommentForm, PostEditForm, PostFilterForm, PostScheduleForm
from campaigns.models import Post, ReviewStatus
from campaigns.services import bulk
from campaigns.services.activity import post_activity
from campaigns.services.comments import MAX_COMMENT, comment_create, post_comments
from campaigns.views.grid import post_grid_context
from shared.http import login_required
from workspaces.access import require
from workspaces.roles import Action
from workspaces.view_access import AuthenticatedHttpRequest, allowed_on, owned_or_404

CARD_TEMPLATE = "campaigns/partials/post_card.html"


def _edit_form(post: Post, data: QueryDict | None = None) -> PostEditForm:
    # Ids unique per post: several cards may be in edit mode on one page.
    form = PostEditForm(data, instance=post, auto_id=f"post-{post.pk}-%s")
    # htmx moves the focus to an autofocus field it swaps in: the caption, ready to type.
    form.fields["caption"].widget.attrs["autofocus"] = True
    return form


def _card(request: AuthenticatedHttpRequest, post: Post, **context: Any) -> HttpResponse:
    allowed = allowed_on(post)
    return render(request, CARD_TEMPLATE, {"post": post, "allowed": allowed, **context})


def _post_page(request: AuthenticatedHttpRequest, post: Post, **context: Any) -> HttpResponse:
    context.setdefault("edit_form", PostEditForm(instance=post))
    context.setdefault("schedule_form", PostScheduleForm(instance=post))
    context.setdefault("comment_error", "")
    return render(
        request,
        "campaigns/post_detail.html",
        {
            "post": post,
            "campaign": post.campaign,
            "allowed": allowed_on(post),
            "comments": post_comments(post),
            "activities": post_activity(post),
            "max_comment": MAX_COMMENT,
            **context,
        },
    )


def _done(request: AuthenticatedHttpRequest, post: Post, message: str) -> HttpResponse:
    if request.htmx:
        return _card(request, post)
    messages.success(request, message)
    return redirect(post)


def _refused(request: AuthenticatedHttpRequest, post: Post, error: ValidationError) -> HttpResponse:
    if request.htmx:
        return _card(request, post, card_error=error.messages[0])
    messages.error(request, error.messages[0])
    return redirect(post)


@login_required
@require_GET
def post_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    post = owned_or_404(selectors.post_for, user=request.user, pk=pk)
    return _post_page(request, post)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def post_card(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """One card as it is now: the Cancel of an inline edit, and the poll of a card being regenerated."""
    post = owned_or_404(selectors.post_for, user=request.user, pk=pk)
    if not request.htmx:
        return redirect(post)
    return _card(request, post)


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def post_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    post = owned_or_404(selectors.post_for, user=request.user, pk=pk)
    require(request.user, post.campaign.workspace, Action.EDIT_POST)  # before the form: no edit box for a viewer
    if request.method == "GET":
        if not request.htmx:
            return redirect(post)
        return _card(request, post, mode="edit", edit_form=_edit_form(post))
    form = _edit_form(post, request.POST) if request.htmx else PostEditForm(request.POST, instance=post)
    if form.is_valid():
        try:
            services.post_update(
                post=post,
                caption=form.cleaned_data["caption"],
                hashtags=form.cleaned_data["hashtags"],
                actor=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _done(request, post, "Caption saved.")
    post.refresh_from_db()  # the form wrote its values on the instance; show the stored post beside them
    if request.htmx:
        return _card(request, post, mode="edit", edit_form=form)
    return _post_page(request, post, edit_form=form)


@login_required
@require_POST
def post_review(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    post = owned_or_404(selectors.post_for, user=request.user, pk=pk)
    try:
        services.post_review(post=post, decision=request.POST.get("decision", ""), actor=request.user)
    except ValidationError as error:
        return _refused(request, post, error)
    return _done(request, post, f"Post marked {ReviewStatus(post.review_status).label.lower()}.")


@login_required
@require_POST
def post_regenerate(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    post = owned_or_404(selectors.post_for, user=request.user, pk=pk)
    try:
        services.post_regenerate(post=post, part=request.POST.get("part", ""), actor=request.user)
    except ValidationError as error:
        return _refused(request, post, error)
    return _done(request, post, "Regenerating: the post updates itself when it is ready.")


@login_required
@require_POST
def post_schedule(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    post = owned_or_404(selectors.post_for, user=request.user, pk=pk)
    require(request.user, post.campaign.workspace, Action.SCHEDULE)  # before the form's own checks
    if "clear" in request.POST:
        services.post_schedule(post=post, scheduled_at=None, actor=request.user)
        return _done(request, post, "Post unscheduled.")
    form = PostScheduleForm(request.POST, instance=post)
    if form.is_valid() and not form.cleaned_data["scheduled_at"]:
        form.add_error("scheduled_at", "Pick a date and time.")
    if form.is_valid():
        try:
            services.post_schedule(post=post, scheduled_at=form.cleaned_data["scheduled_at"], actor=request.user)
        except ValidationError as error:
            post.refresh_from_db()
            return _refused(request, post, error)
        return _done(request, post, "Post scheduled.")
    post.refresh_from_db()
    errors = [message for messages_ in form.errors.values() for message in messages_]
    if request.htmx:
        return _card(request, post, schedule_error=errors[0], schedule_value=request.POST.get("scheduled_at", ""))
    return _post_page(request, post, schedule_form=form)


@login_required
@require_POST
def post_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    post = owned_or_404(selectors.post_for, user=request.user, pk=pk)
    try:
        services.post_delete(post=post, actor=request.user)
    except ValidationError as error:
        return _refused(request, post, error)
    if request.htmx and request.POST.get("next") != "campaign":
        return HttpResponse("")  # the card's outerHTML swap with nothing removes it
    messages.success(request, f"Post #{pk} deleted.")
    if request.htmx:
        return HttpResponseClientRedirect(post.campaign.get_absolute_url())
    return redirect(post.campaign)


@login_required
@require_POST
def post_comment(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Add to the post's thread; with htmx the thread alone comes back (with the new comment, or the error)."""
    post = owned_or_404(selectors.post_for, user=request.user, pk=pk)
    form = CommentForm(request.POST)
    body = request.POST.get("body", "")
    error = ""
    if not form.is_valid():
        error = str(form.errors["body"][0])
    else:
        try:
            comment_create(post=post, actor=request.user, body=form.cleaned_data["body"])
        except ValidationError as exc:
            error = exc.messages[0]
    if request.htmx:
        context = {
            "post": post,
            "comments": post_comments(post),
            "allowed": allowed_on(post),
            "comment_error": error,
            "comment_body": body if error else "",
            "max_comment": MAX_COMMENT,
        }
        return render(request, "campaigns/post_detail.html#comments", context)
    if error:
        messages.error(request, error)
    return redirect(f"{post.get_absolute_url()}#comments")


@login_required
@require_POST
def posts_bulk(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Approve, reject, delete or schedule the posts ticked in the grid, or all that match its filter:
    one request, one transaction (campaigns.services.bulk); the grid comes back with a summary above it."""
    campaign = owned_or_404(selectors.campaign_for, user=request.user, pk=pk)
    form = BulkActionForm(request.POST)
    summary = error = ""
    if form.is_valid():
        posts = selectors.campaign_posts(campaign, **PostFilterForm(request.POST).filters())
        if not form.cleaned_data["all_matching"]:
            posts = posts.filter(pk__in=form.cleaned_data["post"])
        try:
            result = bulk.posts_bulk_apply(
                campaign=campaign,
                posts=posts,
                action=form.cleaned_data["action"],
                actor=request.user,
                plan=form.cleaned_data.get("plan"),
            )
        except ValidationError as refusal:
            error = refusal.messages[0]
        else:
            summary = result.summary
    else:
        error = str(next(message for messages_ in form.errors.values() for message in messages_))
    grid_query = request.POST.copy()
    grid_query.pop("after", None)
    if not request.htmx:
        messages.add_message(request, messages.ERROR if error else messages.SUCCESS, error or summary)
        grid = post_grid_context(campaign, grid_query)
        url = campaign.get_absolute_url()
        return redirect(f"{url}?{grid['filter_query']}" if grid["filter_query"] else url)
    context = {
        "campaign": campaign,
        "allowed": allowed_on(campaign),
        "posts_url": reverse("campaigns:posts", args=[campaign.pk]),
        "bulk_summary": summary,
        "bulk_error": error,
        **post_grid_context(campaign, grid_query),
    }
    return render(request, "campaigns/partials/post_grid.html#results", context)
