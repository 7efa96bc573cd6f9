"""The review trail: who did what (activity) and the comments on posts; staff read them."""

from django.contrib import admin

from campaigns.models import Activity, Comment
from campaigns.paginators import BoundedCountPaginator
from shared.read_only_admin import ReadOnlyAdmin


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
