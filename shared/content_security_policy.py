from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.functional import cached_property


class ContentSecurityPolicyMiddleware:
    """Send the Content-Security-Policy from settings on every response.

    Django 5.2 has no built-in CSP support (it arrives in Django 6.0); the policies
    live in settings: CONTENT_SECURITY_POLICY, and a looser one for django-rq's dashboard,
    whose templates carry inline scripts.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    @cached_property
    def rq_dashboard_prefix(self) -> str:
        return reverse("admin:django_rq_home")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if request.path_info.startswith(self.rq_dashboard_prefix):
            policy = settings.CONTENT_SECURITY_POLICY_RQ_DASHBOARD
        response.headers.setdefault("Content-Security-Policy", policy)
        return response
