from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from config.password_reset import ThrottledPasswordResetView

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    # Before Django's own accounts URLs: the same name and path, throttled (config.password_reset).
    path("accounts/password_reset/", ThrottledPasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("campaigns.urls")),
]
