"""The staff admin: every campaign, batch and post, and actions on many at once.

Every write goes through the same services as the marketer's pages and the commands: change
forms check the services' rules (admin_forms) and save with the services, deletes, one or
many, call the delete services, and actions call a service per row. The admin only chooses
the rows and reports what could not be done. Fields no service changes are read-only.
Change lists stay fast with 100,000s of posts: no full-table COUNT (BoundedCountPaginator,
no full result count, no facets), no filter that lists every campaign or batch, and
thumbnails made at generation time.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import slugify
from django.utils.translation import ngettext
from django_rq.settings import get_queues_map

from campaigns import admin_exports, services
from campaigns.admin_actions import ServiceBackedAdmin, apply_service
from campaigns.admin_filters import BatchIdFilter, CampaignIdFilter
from campaigns.admin_forms import (
    MAX_CAMPAIGNS_PER_ACTION,
    BatchCostCapForm,
    CampaignAdminForm,
    PostChangeForm,
    StartBatchForm,
)
from campaigns.admin_rq import may_use_rq_dashboard
from campaigns.exports import csv_lines
from campaigns.models import (
    Activity,
    BatchJob,
    Campaign,
    Comment,
    GenerationStatus,
    Invitation,
    Membership,
    Post,
    ProviderBatch,
    ReviewStatus,
    Workspace,
)
from campaigns.paginators import BoundedCountPaginator
from campaigns.platforms import platform_names
from campaigns.progress_panel import PROGRESS_PANEL, next_poll_seconds
from campaigns.selectors import batch_failure_reasons, batch_progress_for_staff, with_spend_this_month
from generation import dispatch

# Registered with the admin site by their import: the exports' list and download (admin_exports).
REGISTERED_ELSEWHERE = (admin_exports.ExportAdmin,)

# What staff may change on a post, each through its service (PostAdmin.save_model); the rest is
# the batch's or the engine's.
POST_EDITABLE_FIELDS = ("caption", "hashtags", "review_status", "scheduled_at")
BUSY_POST = "This post is being generated: it can be changed once it is ready."


def changelist_url(model: type[Model], **filters: object) -> str:
    url = reverse(f"admin:campaigns_{model._meta.model_name}_changelist")
    return url + ("?" + "&".join(f"{key}={value}" for key, value in filters.items()) if filters else "")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    """Staff see and change every workspace: its settings and its members with their roles."""

    list_display = ("name", "slug", "personal_for", "approval_required", "spend_this_month", "created_at")
    list_filter = ("approval_required",)
    search_fields = ("name", "slug", "memberships__user__username")
    list_select_related = ("personal_for",)
    autocomplete_fields = ("personal_for",)
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at",)
    fields = ("name", "slug", "personal_for", "approval_required", "monthly_budget_usd", "created_at")
    # Deleting one that still holds campaigns is refused (Campaign.workspace is PROTECT): the admin lists them.
    inlines = (MembershipInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Workspace]:
        return with_spend_this_month(super().get_queryset(request))

    @admin.display(description="Spent this month", ordering="spent_this_month")
    def spend_this_month(self, workspace: Workspace) -> str:
        """'$12.34 of $50.00 (25%)', or the spend alone when the workspace has no budget."""
        spent = getattr(workspace, "spent_this_month", Decimal("0"))
        budget = workspace.monthly_budget_usd
        if budget is None:
            return f"${spent:,.2f} (no budget)"
        share = f" ({spent / budget:.0%})" if budget else ""
        return f"${spent:,.2f} of ${budget:,.2f}{share}"


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "workspace", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "user__email", "workspace__name", "workspace__slug")
    list_select_related = ("user", "workspace")
    autocomplete_fields = ("user", "workspace")


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record of what happened: staff read it; only the services write it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    """Who invited whom to which workspace, and whether the link was used or revoked; never the link."""

    list_display = ("created_at", "workspace", "role", "email", "created_by", "state", "accepted_by", "expires_at")
    list_filter = ("role",)
    list_select_related = ("workspace", "created_by", "accepted_by")
    search_fields = ("workspace__name", "email", "created_by__username", "accepted_by__username")
    fields = (
        "workspace",
        "role",
        "email",
        "created_by",
        "created_at",
        "expires_at",
        "accepted_by",
        "accepted_at",
        "revoked_at",
    )


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor", "verb", "campaign", "batch", "post", "detail", "queued_posts")
    list_filter = ("verb",)
    list_select_related = ("actor", "campaign", "batch", "post")
    search_fields = ("=campaign__id", "=post__id", "actor__username")
    paginator = BoundedCountPaginator
    show_full_result_count = False


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    """Staff may delete a comment (an abusive one, say); nobody edits someone else's words."""

    list_display = ("created_at", "author", "post", "body")
    list_select_related = ("author", "post")
    search_fields = ("body", "author__username", "=post__id")


@admin.register(Campaign)
class CampaignAdmin(ServiceBackedAdmin):
    list_display = (
        "name",
        "workspace",
        "owner",
        "platform_list",
        "language",
        "start_date",
        "end_date",
        "created_at",
        "links",
    )
    list_filter = ("language", "created_at")
    search_fields = ("name", "brief", "workspace__name", "owner__username", "owner__email")
    list_select_related = ("workspace", "owner")
    autocomplete_fields = ("workspace", "owner")
    date_hierarchy = "created_at"
    form = CampaignAdminForm
    fields = (*CampaignAdminForm.Meta.fields, "created_at", "updated_at")
    actions = ("delete_selected", "start_batch", "export_posts_csv", "export_posts_zip")
    max_per_action = MAX_CAMPAIGNS_PER_ACTION

    def get_readonly_fields(self, request: HttpRequest, obj: Campaign | None = None) -> tuple[str, ...]:
        # A campaign stays in its workspace with its creator: its batches, posts and exports follow it.
        return ("created_at", "updated_at") if obj is None else ("workspace", "owner", "created_at", "updated_at")

    def save_model(self, request: HttpRequest, campaign: Campaign, form: CampaignAdminForm, change: bool) -> None:
        chosen_once = ("workspace", "owner")
        fields = {name: form.cleaned_data[name] for name in CampaignAdminForm.Meta.fields if name not in chosen_once}
        staff = cast(User, request.user)  # the admin site lets only staff in
        if change:
            services.campaign_update(campaign=campaign, actor=None, recorded_as=staff, **fields)
        else:
            created = services.campaign_create(
                workspace=form.cleaned_data["workspace"],
                owner=form.cleaned_data["owner"],
                actor=None,
                recorded_as=staff,
                **fields,
            )
            campaign.pk = created.pk  # the admin logs and links the object it handed over

    def delete_model(self, request: HttpRequest, campaign: Campaign) -> None:
        services.campaign_delete(campaign=campaign, actor=None)

    @admin.display(description="platforms")
    def platform_list(self, campaign: Campaign) -> str:
        return platform_names(campaign.platforms)

    @admin.display(description="")
    def links(self, campaign: Campaign) -> str:
        # Links, not counts: counting posts per campaign would read every post on each page.
        return format_html(
            '<a href="{}">posts</a> · <a href="{}">batches</a>',
            changelist_url(Post, campaign=campaign.pk),
            changelist_url(BatchJob, campaign=campaign.pk),
        )

    @admin.action(description="Start a batch for the selected campaigns…", permissions=["change"])
    def start_batch(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> TemplateResponse | None:
        campaigns = list(queryset.select_related("owner").order_by("pk")[: MAX_CAMPAIGNS_PER_ACTION + 1])
        if len(campaigns) > MAX_CAMPAIGNS_PER_ACTION:
            self.message_user(
                request,
                f"Select at most {MAX_CAMPAIGNS_PER_ACTION} campaigns to start batches for "
                "(manage.py generate_posts --all-active starts them for every active campaign).",
                messages.ERROR,
            )
            return None
        form = StartBatchForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            self._start_batches(request, campaigns, form.cleaned_data)
            return None  # back to the change list, with the messages
        context = {
            **self.admin_site.each_context(request),
            "title": "Start a batch",
            "subtitle": ngettext("for %(n)d campaign", "for %(n)d campaigns", len(campaigns)) % {"n": len(campaigns)},
            "opts": self.opts,
            "form": form,
            "campaigns": campaigns,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/campaigns/campaign/start_batch.html", context)

    def _start_batches(self, request: HttpRequest, campaigns: list[Campaign], data: dict[str, Any]) -> None:
        started = []
        for campaign in campaigns:
            try:
                batch = services.batch_start(
                    campaign=campaign,
                    count=data["count"],
                    platforms=data["platforms"] or None,
                    actor=None,  # staff, with the admin's permissions
                    requested_by=cast(User, request.user),  # the admin site lets only staff in
                    cost_cap_usd=data["cost_cap_usd"],
                    mode=data["mode"],
                )
            except ValidationError as exc:
                self.message_user(request, f"{campaign.name}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                started.append(batch)
        if started:
            links = format_html_join(
                ", ",
                '<a href="{}">#{}</a> ({})',
                ((reverse("admin:campaigns_batchjob_change", args=[b.pk]), b.pk, b.campaign.name) for b in started),
            )
            self.message_user(
                request,
                format_html(
                    ngettext("Started {} batch of {} {}: {}.", "Started {} batches of {} {}: {}.", len(started)),
                    len(started),
                    data["count"],
                    ngettext("post", "posts", data["count"]),
                    links,
                ),
                messages.SUCCESS,
            )

    def _campaign_posts(self, queryset: QuerySet[Campaign]) -> QuerySet[Post]:
        """What an export of these campaigns holds: as on their pages (campaigns.exports.exportable_posts),
        only approved posts from workspaces that require approval."""
        return (
            Post.objects.filter(campaign__in=queryset)
            .exclude(status=GenerationStatus.CANCELED)
            .exclude(Q(campaign__workspace__approval_required=True) & ~Q(review_status=ReviewStatus.APPROVED))
            .order_by("campaign_id", "-created_at", "-id")
        )

    @admin.action(description="Export posts of the selected campaigns (CSV)", permissions=["view"])
    def export_posts_csv(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> HttpResponseBase:
        response = StreamingHttpResponse(csv_lines(self._campaign_posts(queryset)), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="posts-{timezone.localdate():%Y-%m-%d}.csv"'
        return response

    @admin.action(description="Export posts of the selected campaigns with images (ZIP)", permissions=["view"])
    def export_posts_zip(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        """One ZIP per campaign, made by a worker (campaigns.export_jobs); the exports' list has the links."""
        started = [
            services.export_zip_start(
                campaign=campaign,
                actor=None,  # staff, with the admin's permissions
                requested_by=cast(User, request.user),
                download_name=f"{slugify(campaign.name)[:60] or f'campaign-{campaign.pk}'}-posts-"
                f"{timezone.localdate():%Y-%m-%d}.zip",
            )
            for campaign in queryset.order_by("pk")
        ]
        self.message_user(
            request,
            format_html(
                'Started {} ZIP export{}: <a href="{}">follow them in Exports</a>, where each gets its download link.',
                len(started),
                "" if len(started) == 1 else "s",
                reverse("admin:campaigns_export_changelist"),
            ),
            messages.SUCCESS,
        )


@admin.register(BatchJob)
class BatchJobAdmin(ServiceBackedAdmin):
    list_display = (
        "id",
        "campaign",
        "status",
        "mode",
        "progress",
        "succeeded_count",
        "failed_count",
        "canceled_count",
        "cost_usd",
        "provider",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "mode", "provider", "created_at", CampaignIdFilter)
    search_fields = ("=id", "campaign__name", "campaign__owner__username")
    list_select_related = ("campaign",)
    paginator = BoundedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    form = BatchCostCapForm
    actions = ("delete_selected", "cancel_batches", "retry_failed_posts")
    max_per_action = 50  # a deleted batch takes up to 1,000 posts and their files with it
    fieldsets = (
        (None, {"fields": ("campaign", "requested_by", "requested_count", "platform_list", "status", "mode")}),
        ("Progress", {"fields": ("succeeded_count", "failed_count", "canceled_count", "error_summary")}),
        (
            "Cost",
            {
                "fields": (
                    "cost_usd",
                    "cost_cap_usd",
                    "prompt_tokens",
                    "completion_tokens",
                    "image_count",
                    "provider",
                    "text_model",
                    "image_model",
                )
            },
        ),
        ("Times", {"fields": ("created_at", "started_at", "finished_at")}),
    )
    economy_fieldset = ("Economy: batches at the provider", {"fields": ("provider_batches",)})

    def get_fieldsets(self, request: HttpRequest, obj: BatchJob | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        return (*fieldsets, self.economy_fieldset) if obj is not None and obj.is_economy else fieldsets

    @admin.display(description="batches at the provider")
    def provider_batches(self, batch: BatchJob) -> str:
        """Each phase and round at the provider, with the ids and counts the workers last saw."""
        rows = ProviderBatch.objects.filter(batch=batch).order_by("created_at", "id")
        if not rows:
            return "None yet."
        cells = format_html_join(
            "",
            "<tr><td>{} {}</td><td>{}</td><td>{}</td><td>{} / {} / {}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    row.get_phase_display(),
                    row.round,
                    row.get_status_display(),
                    row.provider_batch_id or "–",
                    row.completed_count,
                    row.failed_count,
                    row.total_count,
                    row.input_file_id or "–",
                    " ".join(filter(None, (row.output_file_id, row.error_file_id))) or "–",
                )
                for row in rows
            ),
        )
        head = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            "phase, round",
            "status",
            "provider batch",
            "completed / failed / total",
            "input file",
            "output, error files",
        )
        return format_html('<table class="provider-batches"><thead>{}</thead><tbody>{}</tbody></table>', head, cells)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Batches start from the campaign pages or the "start a batch" action: they need their posts.
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: BatchJob | None = None) -> list[str]:
        # A batch's posts exist from its start (invariant 1): only its cost cap may still change.
        fields = [name for name in (f.name for f in BatchJob._meta.fields) if name not in ("id", "cost_cap_usd")]
        return [*fields, "platform_list", "provider_batches"]

    @admin.display(description="platforms")
    def platform_list(self, batch: BatchJob) -> str:
        return platform_names(batch.platforms)

    def save_model(self, request: HttpRequest, batch: BatchJob, form: BatchCostCapForm, change: bool) -> None:
        if "cost_cap_usd" in form.changed_data:
            services.batch_set_cost_cap(batch=batch, cost_cap_usd=form.cleaned_data["cost_cap_usd"], actor=None)

    def delete_model(self, request: HttpRequest, batch: BatchJob) -> None:
        services.batch_delete(batch=batch, actor=None)

    @admin.display(description="done")
    def progress(self, batch: BatchJob) -> str:
        return f"{batch.done_count}/{batch.requested_count} ({batch.progress_percent}%)"

    def _apply_to_batches(
        self,
        request: HttpRequest,
        queryset: QuerySet[BatchJob],
        service: Callable[..., object],
        *,
        verb: str,
        done: str,
    ) -> None:
        apply_service(
            self,
            request,
            queryset.order_by("pk"),
            service,
            "batch",
            verb=verb,
            done=done,
            actor=None,
            recorded_as=request.user,
        )

    @admin.action(description="Cancel the selected batches", permissions=["change"])
    def cancel_batches(self, request: HttpRequest, queryset: QuerySet[BatchJob]) -> None:
        self._apply_to_batches(request, queryset, services.batch_cancel, verb="cancel", done="canceled")

    @admin.action(description="Retry the failed posts of the selected batches", permissions=["change"])
    def retry_failed_posts(self, request: HttpRequest, queryset: QuerySet[BatchJob]) -> None:
        self._apply_to_batches(
            request,
            queryset,
            services.batch_retry_failed,
            verb="retry",
            done="put the failed posts back in the queue for",
        )

    def get_urls(self) -> list[URLPattern]:
        progress = path(
            "<path:object_id>/progress/",
            self.admin_site.admin_view(self.progress_view),
            name="campaigns_batchjob_progress",
        )
        return [progress, *super().get_urls()]

    def _progress_context(self, request: HttpRequest, batch: BatchJob) -> dict[str, Any]:
        poll_url = reverse("admin:campaigns_batchjob_progress", args=[batch.pk]) if batch.is_active else ""
        poll_seconds = next_poll_seconds(done_count=batch.done_count, query=request.GET)
        return {"batch": batch, "poll_url": poll_url, "poll_seconds": poll_seconds, "show_actions": False}

    def progress_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The live progress panel alone: what the batch page's panel polls (campaigns.progress_panel)."""
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            batch = batch_progress_for_staff(user=request.user, pk=int(object_id))
        except (ValueError, BatchJob.DoesNotExist):
            raise Http404("No such batch.") from None
        return TemplateResponse(request, PROGRESS_PANEL, self._progress_context(request, batch))

    def get_queryset(self, request: HttpRequest) -> QuerySet[BatchJob]:
        return super().get_queryset(request).select_related("campaign")

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: BatchJob | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context.update(self._operations_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _operations_context(self, request: HttpRequest, batch: BatchJob) -> dict[str, Any]:
        queue_index = get_queues_map().get(dispatch.QUEUE_NAME)
        jobs = dispatch.job_statuses(batch.rq_job_ids or [])
        # Links into the RQ dashboard only for those who may open it (superusers: campaigns.admin_rq).
        dashboard = may_use_rq_dashboard(request.user)
        for job in jobs or []:
            job["url"] = reverse("admin:django_rq_job_detail", args=[queue_index, job["id"]]) if dashboard else ""
        return {
            **{f"progress_{key}": value for key, value in self._progress_context(request, batch).items()},
            "failure_reasons": batch_failure_reasons(batch),
            "rq_jobs": jobs,
            "rq_queue_url": reverse("admin:django_rq_jobs", args=[queue_index]) if dashboard else "",
            "posts_url": changelist_url(Post, batch=batch.pk),
            "failed_posts_url": changelist_url(Post, batch=batch.pk, status__exact=GenerationStatus.FAILED),
            "ready_posts_url": changelist_url(Post, batch=batch.pk, status__exact=GenerationStatus.SUCCEEDED),
        }


@admin.register(Post)
class PostAdmin(ServiceBackedAdmin):
    list_display = (
        "thumbnail_preview",
        "__str__",
        "campaign",
        "batch_link",
        "platform",
        "status",
        "review_status",
        "created_at",
    )
    list_display_links = ("thumbnail_preview", "__str__")
    list_filter = ("status", "failure_reason", "review_status", "platform", "scope", CampaignIdFilter, BatchIdFilter)
    search_fields = ("=id", "caption", "campaign__name")
    list_select_related = ("campaign",)
    # The primary key's index answers "newest first" for 100,000s of posts; created_at has none alone.
    ordering = ("-id",)
    form = PostChangeForm
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "campaign",
                    "batch",
                    "sequence",
                    "platform",
                    "status",
                    "scope",
                    "failure_reason",
                    "error_message",
                )
            },
        ),
        (
            "Content",
            {"fields": ("caption", "hashtags", "headline", "thumbnail_preview", "image", "thumbnail", "image_prompt")},
        ),
        ("Review", {"fields": ("review_status", "scheduled_at")}),
        (
            "Generation",
            {
                "fields": (
                    "attempts",
                    "lease_owner",
                    "lease_expires_at",
                    "prompt_tokens",
                    "completion_tokens",
                    "cost_usd",
                    "generated_at",
                    "created_at",
                    "updated_at",
                )
            },
        ),
    )
    readonly_fields = tuple(name for name in flatten_fieldsets(fieldsets) if name not in POST_EDITABLE_FIELDS)
    paginator = BoundedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = (
        "delete_selected",
        "approve_posts",
        "reject_posts",
        "regenerate_posts",
        "regenerate_captions",
        "regenerate_images",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A post is one of its batch's N, made with it by batch_start (invariant 1).
        return False

    def has_change_permission(self, request: HttpRequest, obj: Post | None = None) -> bool:
        # A post being generated is the engine's until it is ready: its page is read-only meanwhile.
        if obj is not None and obj.is_busy:
            return False
        return super().has_change_permission(request, obj)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Post | None:
        post = super().get_object(request, object_id, from_field)
        if post is not None and request.method == "POST":
            # The change and delete views write in one transaction: locking the row until it commits
            # makes the post the form and the services check the post they write (a regeneration waits).
            post = Post.objects.select_for_update().get(pk=post.pk)
        return post

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            return super().change_view(request, object_id, form_url, extra_context)
        except PermissionDenied:
            # The post started generating after its form was opened: say so instead of answering 403.
            if request.method != "POST" or not self.has_change_permission(request) or not self._is_busy(object_id):
                raise
            self.message_user(request, f"{BUSY_POST} Nothing was saved.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def _is_busy(self, object_id: str) -> bool:
        pk = unquote(object_id)
        busy = (GenerationStatus.PENDING, GenerationStatus.GENERATING)
        return pk.isdigit() and Post.objects.filter(pk=pk, status__in=busy).exists()

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Post | None = None,
    ) -> HttpResponse:
        if obj is not None and obj.is_busy:
            self.message_user(request, BUSY_POST, messages.WARNING)
            context["show_delete"] = False  # post_delete would refuse it too
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request: HttpRequest, post: Post, form: PostChangeForm, change: bool) -> None:
        """Each changed part through the service the marketer's pages use; the form checked the same rules."""
        data, changed = form.cleaned_data, set(form.changed_data)
        staff = cast(User, request.user)
        if changed & {"caption", "hashtags"}:
            services.post_update(
                post=post, caption=data["caption"], hashtags=data["hashtags"], actor=None, recorded_as=staff
            )
        if "review_status" in changed:
            services.post_review(post=post, decision=data["review_status"], actor=None, recorded_as=staff)
        if "scheduled_at" in changed:
            services.post_schedule(post=post, scheduled_at=data["scheduled_at"], actor=None, recorded_as=staff)

    def delete_model(self, request: HttpRequest, post: Post) -> None:
        services.post_delete(post=post, actor=None)

    @admin.display(description="image")
    def thumbnail_preview(self, post: Post) -> str:
        if not post.thumbnail:
            return "–"
        return format_html('<img src="{}" alt="" width="64" loading="lazy">', post.thumbnail.url)

    @admin.display(description="batch", ordering="batch_id")
    def batch_link(self, post: Post) -> str:
        if not post.batch_id:
            return "–"
        return format_html(
            '<a href="{}">#{}</a>', reverse("admin:campaigns_batchjob_change", args=[post.batch_id]), post.batch_id
        )

    def _review(self, request: HttpRequest, queryset: QuerySet[Post], decision: str, verb: str, done: str) -> None:
        posts = self.selected(request, queryset)
        if posts is not None:
            apply_service(
                self,
                request,
                posts,
                services.post_review,
                "post",
                verb=verb,
                done=done,
                decision=decision,
                actor=None,
                recorded_as=request.user,
            )

    def _regenerate(self, request: HttpRequest, queryset: QuerySet[Post], part: str) -> None:
        posts = self.selected(request, queryset)
        if posts is not None:
            regenerate = services.post_regenerate
            apply_service(
                self,
                request,
                posts,
                regenerate,
                "post",
                verb="regenerate",
                done="queued",
                part=part,
                actor=None,
                recorded_as=request.user,
            )

    @admin.action(description="Approve the selected posts", permissions=["change"])
    def approve_posts(self, request: HttpRequest, queryset: QuerySet[Post]) -> None:
        self._review(request, queryset, ReviewStatus.APPROVED, "approve", "approved")

    @admin.action(description="Reject the selected posts", permissions=["change"])
    def reject_posts(self, request: HttpRequest, queryset: QuerySet[Post]) -> None:
        self._review(request, queryset, ReviewStatus.REJECTED, "reject", "rejected")

    @admin.action(description="Regenerate the selected posts (caption and image)", permissions=["change"])
    def regenerate_posts(self, request: HttpRequest, queryset: QuerySet[Post]) -> None:
        self._regenerate(request, queryset, "both")

    @admin.action(description="Regenerate the captions of the selected posts", permissions=["change"])
    def regenerate_captions(self, request: HttpRequest, queryset: QuerySet[Post]) -> None:
        self._regenerate(request, queryset, "caption")

    @admin.action(description="Regenerate the images of the selected posts", permissions=["change"])
    def regenerate_images(self, request: HttpRequest, queryset: QuerySet[Post]) -> None:
        self._regenerate(request, queryset, "image")
