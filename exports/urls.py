from django.urls import path

from exports import feed_views, views

app_name = "exports"

urlpatterns = [
    path("campaigns/<int:pk>/export.csv", views.campaign_export_csv, name="export_csv"),
    path("campaigns/<int:pk>/export.zip", views.campaign_export_zip, name="export_zip"),
    path("calendar/<str:token>.ics", feed_views.calendar_feed, name="calendar_feed"),
    path("settings/calendar-feed/new-url/", feed_views.calendar_feed_new_url, name="calendar_feed_new_url"),
    path("exports/<int:pk>/", views.export_detail, name="export_detail"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
]
