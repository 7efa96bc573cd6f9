from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.urls import reverse
from django.utils.html import format_html

from campaigns import services
from campaigns.admin.actions import ServiceBackedAdmin, apply_service
from campaigns.admin.filters import BatchIdFilter, CampaignIdFilter
from campaigns.admin.forms import (
    PostChangeForm,
)
from campaigns.models import GenerationStatus, Post, ReviewStatus
from campaigns.paginators import BoundedCountPaginator

# What staff may change on a post, each through its service (PostAdmin.save_model); the rest is
# the batch's or the engine's.
POST_EDITABLE_FIELDS = ("caption", "hashtags", "review_status", "scheduled_at")
BUSY_POST = "This post is being generated: it can be changed once it is ready."


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
    list_filter = (
        "status",
        "failure_reason",
        "review_status",
        "platform",
        "pending_work",
        CampaignIdFilter,
        BatchIdFilter,
    )
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
                    "pending_work",
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
