"""ZIP exports in the admin: the list of exports (started by the campaigns' export action or by
marketers), their progress, and a download link for staff who may view exports."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from campaigns.media import deliver
from campaigns.models import Export, ExportStatus


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
        return format_html('<a href="{}">ZIP</a>', reverse("admin:campaigns_export_download", args=[export.pk]))

    def get_urls(self) -> list[URLPattern]:
        download = path(
            "<int:pk>/download/", self.admin_site.admin_view(self.download_view), name="campaigns_export_download"
        )
        return [download, *super().get_urls()]

    def download_view(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        if not self.has_view_permission(request):
            raise PermissionDenied
        export = Export.objects.filter(pk=pk, status=ExportStatus.SUCCEEDED).exclude(file="").first()
        if export is None or export.is_expired():
            raise Http404("No such export, or its link has expired.")
        return deliver(export.file.name, download_as=export.download_name)
