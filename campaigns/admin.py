from django.contrib import admin
from django.utils.html import format_html

from campaigns.models import BatchJob, Campaign, Post
from campaigns.paginators import BoundedCountPaginator


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "platform_list", "language", "start_date", "end_date", "created_at")
    list_filter = ("language", "created_at")
    search_fields = ("name", "brief", "owner__username", "owner__email")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "updated_at")

    @admin.display(description="platforms")
    def platform_list(self, campaign: Campaign) -> str:
        return ", ".join(campaign.platforms)


@admin.register(BatchJob)
class BatchJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "campaign",
        "status",
        "requested_count",
        "succeeded_count",
        "failed_count",
        "canceled_count",
        "cost_usd",
        "provider",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "provider", "created_at")
    search_fields = ("=id", "campaign__name", "campaign__owner__username")
    list_select_related = ("campaign",)
    autocomplete_fields = ("campaign", "requested_by")
    date_hierarchy = "created_at"
    readonly_fields = (
        "status",
        "succeeded_count",
        "failed_count",
        "canceled_count",
        "provider",
        "text_model",
        "image_model",
        "prompt_tokens",
        "completion_tokens",
        "image_count",
        "cost_usd",
        "error_summary",
        "rq_job_ids",
        "created_at",
        "started_at",
        "finished_at",
    )

    def has_add_permission(self, request) -> bool:
        # Batches start from the campaign pages or the "start a batch" action: they need their posts.
        return False


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("thumbnail_preview", "__str__", "campaign", "platform", "status", "review_status", "created_at")
    list_display_links = ("thumbnail_preview", "__str__")
    list_filter = ("status", "review_status", "platform", "scope")
    search_fields = ("=id", "caption", "campaign__name")
    list_select_related = ("campaign",)
    autocomplete_fields = ("campaign", "batch")
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

    @admin.display(description="image")
    def thumbnail_preview(self, post: Post) -> str:
        if not post.thumbnail:
            return "–"
        return format_html('<img src="{}" alt="" width="64" loading="lazy">', post.thumbnail.url)
