from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from api.main import api
from campaigns.views.account import SignInView
from config.password_reset import ThrottledPasswordResetView

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    # Before Django's own accounts URLs: the same name and path, throttled (config.password_reset).
    path("accounts/password_reset/", ThrottledPasswordResetView.as_view(), name="password_reset"),
    # Django's sign-in, which also takes the browser's time zone the first time (campaigns.views.account).
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", api.urls),
    path("", include("api.urls")),
    path("", include("webhooks.urls")),
    path("", include("campaigns.urls")),
]
