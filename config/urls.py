from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.static import serve

from campaigns.views.account import SignInView

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    # Django's sign-in, which also takes the browser's time zone the first time (campaigns.views.account).
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("campaigns.urls")),
]

if settings.SERVE_MEDIA:
    urlpatterns += [
        re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
    ]
