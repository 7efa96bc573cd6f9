"""The staff admin: every campaign, batch and post, and actions on many at once.

Actions call the same services as the marketer's pages and the commands; the admin only
chooses the rows and reports what could not be done. Change lists stay fast with 100,000s
of posts: no full-table COUNT (BoundedCountPaginator, no full result count, no facets),
no filter that lists every campaign or batch, and thumbnails made at generation time.
"""

import tempfile
from collections import defaultdict
from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django_rq.settings import get_queues_map

from campaigns import services
from campaigns.admin_filters import BatchIdFilter, CampaignIdFilter
from campaigns.admin_forms import MAX_CAMPAIGNS_PER_ACTION, StartBatchForm
from campaigns.exports import csv_lines, write_zip
from campaigns.models import BatchJob, Campaign, GenerationStatus, Post, ReviewStatus
from campaigns.paginators import BoundedCountPaginator
from campaigns.progress_panel import PROGRESS_PANEL, next_poll_seconds
from campaigns.selectors import batch_failure_reasons, batch_progress_for_staff
from generation import dispatch

# Actions on posts call a service per post; past this many, narrow the list with a filter first.
MAX_POSTS_PER_ACTION = 500


def report_refusals(modeladmin: admin.ModelAdmin, request: HttpRequest, verb: str, refused: dict[str, list]) -> None:
    """One warning per reason: "Could not cancel 2 batches (#4, #9): Batch #4 has already ended."."""
    for reason, objects in refused.items():
        names = ", ".join(f"#{obj.pk}" for obj in objects[:20]) + ("…" if len(objects) > 20 else "")
        plural = modeladmin.opts.verbose_name if len(objects) == 1 else modeladmin.opts.verbose_name_plural
        modeladmin.message_user(
            request, f"Could not {verb} {len(objects)} {plural} ({names}): {reason}", messages.WARNING
        )


def apply_service(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    objects,
    service: Callable,
    keyword: str,
    *,
    verb: str,
    done: str,
    **arguments,
) -> None:
    """Call service(<keyword>=obj, **arguments) for each object; report how many it did and,
    grouped by reason, what it refused."""
    succeeded = 0
    refused: dict[str, list] = defaultdict(list)
    for obj in objects:
        try:
            service(**{keyword: obj}, **arguments)
        except ValidationError as exc:
            refused[" ".join(exc.messages)].append(obj)
        else:
            succeeded += 1
    if succeeded:
        plural = modeladmin.opts.verbose_name if succeeded == 1 else modeladmin.opts.verbose_name_plural
        modeladmin.message_user(request, f"{done.capitalize()} {succeeded} {plural}.", messages.SUCCESS)
    report_refusals(modeladmin, request, verb, refused)


def changelist_url(model: type, **filters) -> str:
    url = reverse(f"admin:campaigns_{model._meta.model_name}_changelist")
    return url + ("?" + "&".join(f"{key}={value}" for key, value in filters.items()) if filters else "")


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "owner",
        "platform_list",
        "language",
        "start_date",
        "end_date",
        "created_at",
        "links",
    )
    list_filter = ("language", "created_at")
    search_fields = ("name", "brief", "owner__username", "owner__email")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "updated_at")
    actions = ("start_batch", "export_posts_csv", "export_posts_zip")

    @admin.display(description="platforms")
    def platform_list(self, campaign: Campaign) -> str:
        return ", ".join(campaign.platforms)

    @admin.display(description="")
    def links(self, campaign: Campaign) -> str:
        # Links, not counts: counting posts per campaign would read every post on each page.
        return format_html(
            '<a href="{}">posts</a> · <a href="{}">batches</a>',
            changelist_url(Post, campaign=campaign.pk),
            changelist_url(BatchJob, campaign=campaign.pk),
        )

    @admin.action(description="Start a batch for the selected campaigns…", permissions=["change"])
    def start_batch(self, request: HttpRequest, queryset: QuerySet[Campaign]):
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
            "subtitle": f"for {len(campaigns)} campaign{'s' if len(campaigns) != 1 else ''}",
            "opts": self.opts,
            "form": form,
            "campaigns": campaigns,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/campaigns/campaign/start_batch.html", context)

    def _start_batches(self, request: HttpRequest, campaigns: list[Campaign], data: dict) -> None:
        started = []
        for campaign in campaigns:
            try:
                batch = services.batch_start(
                    campaign=campaign,
                    count=data["count"],
                    platforms=data["platforms"] or None,
                    requested_by=request.user,
                    cost_cap_usd=data["cost_cap_usd"],
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
                format_html("Started {} batches of {} posts: {}.", len(started), data["count"], links),
                messages.SUCCESS,
            )

    def _campaign_posts(self, queryset: QuerySet[Campaign]) -> QuerySet[Post]:
        return Post.objects.filter(campaign__in=queryset).order_by("campaign_id", "-created_at", "-id")

    @admin.action(description="Export posts of the selected campaigns (CSV)", permissions=["view"])
    def export_posts_csv(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> HttpResponse:
        response = StreamingHttpResponse(csv_lines(self._campaign_posts(queryset)), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="posts-{timezone.localdate():%Y-%m-%d}.csv"'
        return response

    @admin.action(description="Export posts of the selected campaigns with images (ZIP)", permissions=["view"])
    def export_posts_zip(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> HttpResponse:
        # Kept in memory up to 64 MB, then on disk; FileResponse closes (and so deletes) it.
        archive = tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024)  # noqa: SIM115
        write_zip(self._campaign_posts(queryset), archive)
        archive.seek(0)
        return FileResponse(archive, as_attachment=True, filename=f"posts-{timezone.localdate():%Y-%m-%d}.zip")


@admin.register(BatchJob)
class BatchJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "campaign",
        "status",
        "progress",
        "succeeded_count",
        "failed_count",
        "canceled_count",
        "cost_usd",
        "provider",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "provider", "created_at", CampaignIdFilter)
    search_fields = ("=id", "campaign__name", "campaign__owner__username")
    list_select_related = ("campaign",)
    autocomplete_fields = ("campaign", "requested_by")
    paginator = BoundedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ("cancel_batches", "retry_failed_posts")
    fieldsets = (
        (None, {"fields": ("campaign", "requested_by", "requested_count", "platforms", "status")}),
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

    def has_add_permission(self, request) -> bool:
        # Batches start from the campaign pages or the "start a batch" action: they need their posts.
        return False

    def get_readonly_fields(self, request, obj=None):
        # A batch's posts exist from its start (invariant 1): only its cost cap may still change.
        return [name for name in (f.name for f in BatchJob._meta.fields) if name not in ("id", "cost_cap_usd")]

    @admin.display(description="done")
    def progress(self, batch: BatchJob) -> str:
        return f"{batch.done_count}/{batch.requested_count} ({batch.progress_percent}%)"

    @admin.action(description="Cancel the selected batches", permissions=["change"])
    def cancel_batches(self, request: HttpRequest, queryset: QuerySet[BatchJob]) -> None:
        apply_service(
            self,
            request,
            queryset.order_by("pk"),
            services.batch_cancel,
            "batch",
            verb="cancel",
            done="canceled",
        )

    @admin.action(description="Retry the failed posts of the selected batches", permissions=["change"])
    def retry_failed_posts(self, request: HttpRequest, queryset: QuerySet[BatchJob]) -> None:
        apply_service(
            self,
            request,
            queryset.order_by("pk"),
            services.batch_retry_failed,
            "batch",
            verb="retry",
            done="put the failed posts back in the queue for",
        )

    def get_urls(self):
        progress = path(
            "<path:object_id>/progress/",
            self.admin_site.admin_view(self.progress_view),
            name="campaigns_batchjob_progress",
        )
        return [progress, *super().get_urls()]

    def _progress_context(self, request: HttpRequest, batch: BatchJob) -> dict:
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

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(self._operations_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _operations_context(self, request: HttpRequest, batch: BatchJob) -> dict:
        queue_index = get_queues_map().get(dispatch.QUEUE_NAME)
        jobs = dispatch.job_statuses(batch.rq_job_ids or [])
        for job in jobs or []:
            job["url"] = reverse("admin:django_rq_job_detail", args=[queue_index, job["id"]])
        return {
            **{f"progress_{key}": value for key, value in self._progress_context(request, batch).items()},
            "failure_reasons": batch_failure_reasons(batch),
            "rq_jobs": jobs,
            "rq_queue_url": reverse("admin:django_rq_jobs", args=[queue_index]),
            "posts_url": changelist_url(Post, batch=batch.pk),
            "failed_posts_url": changelist_url(Post, batch=batch.pk, status__exact=GenerationStatus.FAILED),
            "ready_posts_url": changelist_url(Post, batch=batch.pk, status__exact=GenerationStatus.SUCCEEDED),
        }


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
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
    list_filter = ("status", "review_status", "platform", "scope", CampaignIdFilter, BatchIdFilter)
    search_fields = ("=id", "caption", "campaign__name")
    list_select_related = ("campaign",)
    autocomplete_fields = ("campaign", "batch")
    # The primary key's index answers "newest first" for 100,000s of posts; created_at has none alone.
    ordering = ("-id",)
    readonly_fields = (
        "thumbnail_preview",
        "status",
        "scope",
        "attempts",
        "lease_owner",
        "lease_expires_at",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
        "error_message",
        "generated_at",
        "created_at",
        "updated_at",
    )
    paginator = BoundedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ("approve_posts", "reject_posts", "regenerate_posts", "regenerate_captions", "regenerate_images")

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

    def _selected(self, request: HttpRequest, queryset: QuerySet[Post]) -> list[Post] | None:
        posts = list(queryset.order_by("pk")[: MAX_POSTS_PER_ACTION + 1])
        if len(posts) > MAX_POSTS_PER_ACTION:
            self.message_user(
                request,
                f"Select at most {MAX_POSTS_PER_ACTION} posts for one action; narrow the list with a filter.",
                messages.ERROR,
            )
            return None
        return posts

    def _review(self, request: HttpRequest, queryset: QuerySet[Post], decision: str, verb: str, done: str) -> None:
        posts = self._selected(request, queryset)
        if posts is not None:
            apply_service(self, request, posts, services.post_review, "post", verb=verb, done=done, decision=decision)

    def _regenerate(self, request: HttpRequest, queryset: QuerySet[Post], part: str) -> None:
        posts = self._selected(request, queryset)
        if posts is not None:
            regenerate = services.post_regenerate
            apply_service(self, request, posts, regenerate, "post", verb="regenerate", done="queued", part=part)

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
