from django.urls import path

from campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="detail"),
    path("batches/<int:pk>/", views.batch_detail, name="batch_detail"),
    path("posts/<int:pk>/", views.post_detail, name="post_detail"),
]
