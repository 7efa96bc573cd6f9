from django.urls import path

from api import views

app_name = "api"

urlpatterns = [
    path("settings/api-tokens/", views.token_list, name="tokens"),
    path("settings/api-tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
]
