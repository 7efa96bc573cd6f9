"""Password reset by email, throttled: per client IP (shared.client_ip) and per address asked for.

Each request sends an email to someone, so an attacker could use the form to flood an inbox or to
probe for accounts: past the limits the form is shown again with a refusal (429) and nothing is
sent. The refusal reads the same whether or not the address has an account, like Django's own
answer. Counted in the shared Redis cache by django-ratelimit. Without EMAIL_URL in production the
page says that reset by email is not set up, instead of pretending to send.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import is_ratelimited

from shared.client_ip import client_ip


def _ip(group: str, request: HttpRequest) -> str:
    return client_ip(request)


def _email(group: str, request: HttpRequest) -> str:
    return request.POST.get("email", "").strip().lower()


def _per_ip(group: str, request: HttpRequest) -> str:
    return f"{settings.PASSWORD_RESETS_PER_IP_PER_HOUR}/h"


def _per_email(group: str, request: HttpRequest) -> str:
    return f"{settings.PASSWORD_RESETS_PER_EMAIL_PER_HOUR}/h"


def too_many_resets(request: HttpRequest) -> bool:
    """Count this request against both limits; True when either is exceeded."""
    by_ip = is_ratelimited(request, group="password-reset-ip", key=_ip, rate=_per_ip, method="POST", increment=True)
    by_email = is_ratelimited(
        request, group="password-reset-email", key=_email, rate=_per_email, method="POST", increment=True
    )
    return by_ip or by_email


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "email_configured": settings.EMAIL_CONFIGURED}

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.EMAIL_CONFIGURED:
            return self.get(request, *args, **kwargs)
        if too_many_resets(request):
            form = self.get_form()
            form.is_valid()
            form.add_error(None, "Too many password reset requests. Wait an hour, or ask an administrator.")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)
