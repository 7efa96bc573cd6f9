from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from config.password_reset import ThrottledPasswordResetView

from api.main import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    # Before Django's own accounts URLs: the same name and path, throttled (config.password_reset).
    path("accounts/password_reset/", ThrottledPasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", api.urls),
    path("", include("api.urls")),
    path("", include("webhooks.urls")),
    path("", include("campaigns.urls")),
]
