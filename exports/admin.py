"""ZIP exports in the admin: the list of exports (started by the campaigns' export action or by
marketers), their progress, and a download link for staff who may view exports."""

from typing import cast

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import slugify

from campaigns.admin.campaigns import CampaignAdmin
from campaigns.models import Campaign, GenerationStatus, Post, ReviewStatus
from exports.models import Export, ExportStatus
from exports.services import export_zip_start
from exports.writers import csv_lines
from shared.media import deliver


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    list_display = ("id", "campaign", "status", "progress", "requested_by", "created_at", "expires_at", "download")
    list_filter = ("status",)
    list_select_related = ("campaign", "requested_by")
    readonly_fields = [field.name for field in Export._meta.fields] + ["download"]
    ordering = ("-created_at",)
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # exports are started from the campaigns' action or the campaign page

    def has_change_permission(self, request: HttpRequest, obj: Export | None = None) -> bool:
        return False

    @admin.display(description="progress")
    def progress(self, export: Export) -> str:
        return f"{export.done_count} / {export.total_count}" if export.total_count else "–"

    @admin.display(description="download")
    def download(self, export: Export) -> str:
        if export.status != ExportStatus.SUCCEEDED or export.is_expired():
            return "–"
        return format_html('<a href="{}">ZIP</a>', reverse("admin:exports_export_download", args=[export.pk]))

    def get_urls(self) -> list[URLPattern]:
        download = path(
            "<int:pk>/download/", self.admin_site.admin_view(self.download_view), name="exports_export_download"
        )
        return [download, *super().get_urls()]

    def download_view(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        if not self.has_view_permission(request):
            raise PermissionDenied
        export = Export.objects.filter(pk=pk, status=ExportStatus.SUCCEEDED).exclude(file="").first()
        if export is None or export.is_expired():
            raise Http404("No such export, or its link has expired.")
        return deliver(export.file.name, download_as=export.download_name)


admin.site.unregister(Campaign)


@admin.register(Campaign)
class ExportingCampaignAdmin(CampaignAdmin):
    """The campaign admin with its two export actions: they belong to this app, which campaigns'
    admin cannot import, so it is registered again here with them."""

    actions = (*CampaignAdmin.actions, "export_posts_csv", "export_posts_zip")

    def _campaign_posts(self, queryset: QuerySet[Campaign]) -> QuerySet[Post]:
        """What an export of these campaigns holds: as on their pages (exports.writers.exportable_posts),
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
        """One ZIP per campaign, made by a worker (exports.jobs); the exports' list has the links."""
        started = [
            export_zip_start(
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
                reverse("admin:exports_export_changelist"),
            ),
            messages.SUCCESS,
        )
