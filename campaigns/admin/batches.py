from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django_rq.settings import get_queues_map

from campaigns import services
from campaigns.admin.actions import ServiceBackedAdmin, apply_service
from campaigns.admin.filters import CampaignIdFilter
from campaigns.admin.forms import (
    BatchCostCapForm,
)
from campaigns.admin.links import changelist_url
from campaigns.admin.rq import may_use_rq_dashboard
from campaigns.models import BatchJob, GenerationStatus, Post
from campaigns.paginators import BoundedCountPaginator
from campaigns.progress_panel import PROGRESS_PANEL, next_poll_seconds
from campaigns.selectors import batch_failure_reasons, batch_progress_for_staff
from generation import dispatch
from shared.platforms import platform_names


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
        rows = dispatch.provider_batches(batch.pk)
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
        # Links into the RQ dashboard only for those who may open it (superusers: campaigns.admin.rq).
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
