from django.conf import settings
from django.urls import path

from campaigns.views import batches, calendar, campaigns, media, posts

app_name = "campaigns"

urlpatterns = [
    path("calendar/", calendar.schedule_calendar, name="schedule"),
    path("posts/<int:pk>/reschedule/", calendar.post_reschedule, name="post_reschedule"),
    # Campaigns
    path("", campaigns.campaign_list, name="list"),
    path("campaigns/new/", campaigns.campaign_create, name="create"),
    path("campaigns/preview/", campaigns.campaign_preview, name="preview"),
    path("campaigns/<int:pk>/", campaigns.campaign_detail, name="detail"),
    path("campaigns/<int:pk>/edit/", campaigns.campaign_update, name="update"),
    path("campaigns/<int:pk>/delete/", campaigns.campaign_delete, name="delete"),
    path("campaigns/<int:pk>/duplicate/", campaigns.campaign_duplicate, name="duplicate"),
    path("campaigns/<int:pk>/posts/", campaigns.campaign_posts, name="posts"),
    path("campaigns/<int:pk>/posts/bulk/", posts.posts_bulk, name="posts_bulk"),
    path("campaigns/<int:pk>/batch-history/", campaigns.campaign_batch_history, name="batch_history"),
    path("campaigns/<int:pk>/calendar/", campaigns.campaign_calendar, name="calendar"),
    # Batches
    path("campaigns/<int:pk>/batches/", batches.batch_start, name="batch_start"),
    path("campaigns/<int:pk>/batches/estimate/", batches.batch_estimate, name="batch_estimate"),
    path("batches/<int:pk>/", batches.batch_detail, name="batch_detail"),
    path("batches/<int:pk>/progress/", batches.batch_progress, name="batch_progress"),
    path("batches/<int:pk>/cancel/", batches.batch_cancel, name="batch_cancel"),
    path("batches/<int:pk>/retry/", batches.batch_retry, name="batch_retry"),
    # Posts
    path("posts/<int:pk>/", posts.post_detail, name="post_detail"),
    path("posts/<int:pk>/card/", posts.post_card, name="post_card"),
    path("posts/<int:pk>/edit/", posts.post_edit, name="post_edit"),
    path("posts/<int:pk>/review/", posts.post_review, name="post_review"),
    path("posts/<int:pk>/regenerate/", posts.post_regenerate, name="post_regenerate"),
    path("posts/<int:pk>/schedule/", posts.post_schedule, name="post_schedule"),
    path("posts/<int:pk>/delete/", posts.post_delete, name="post_delete"),
    path("posts/<int:pk>/comments/", posts.post_comment, name="post_comment"),
    # Private media: images, served after an access check (shared.media). MEDIA_URL is a path.
    path(f"{settings.MEDIA_URL.strip('/')}/<path:name>", media.media_file, name="media"),
]
