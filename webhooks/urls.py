from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("settings/webhooks/", views.endpoint_list, name="list"),
    path("settings/webhooks/<int:pk>/", views.endpoint_detail, name="detail"),
    path("settings/webhooks/<int:pk>/edit/", views.endpoint_update, name="update"),
    path("settings/webhooks/<int:pk>/state/", views.endpoint_state, name="state"),
    path("settings/webhooks/deliveries/<int:pk>/redeliver/", views.delivery_redeliver, name="redeliver"),
]
