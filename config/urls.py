from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from accounts.password_reset import ThrottledPasswordResetView
from accounts.views import SignInView
from api.main import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    # Before Django's own accounts URLs: the same name and path, throttled (accounts.password_reset).
    path("accounts/password_reset/", ThrottledPasswordResetView.as_view(), name="password_reset"),
    # Django's sign-in, which also takes the browser's time zone the first time (accounts.views).
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", api.urls),
    path("", include("api.urls")),
    path("", include("webhooks.urls")),
    path("", include("accounts.urls")),
    path("", include("workspaces.urls")),
    path("", include("exports.urls")),
    path("", include("campaigns.urls")),
]
