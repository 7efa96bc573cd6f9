"""Password reset by email, throttled: per client IP (shared.client_ip) and per address asked for.

Each request sends an email to someone, so an attacker could use the form to flood an inbox or to
probe for accounts: past the limits the form is shown again with a refusal (429) and nothing is
sent. The refusal reads the same whether or not the address has an account, like Django's own
answer. Counted by shared.rate_counter. Without EMAIL_URL in production the
page says that reset by email is not set up, instead of pretending to send.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

from shared.client_ip import client_ip
from shared.rate_counter import window_usage

HOUR = 3600


def too_many_resets(request: HttpRequest) -> bool:
    """Count this request against both limits; True when either is exceeded."""
    by_ip = window_usage(
        group="password-reset-ip",
        key=client_ip(request),
        limit=settings.PASSWORD_RESETS_PER_IP_PER_HOUR,
        period_seconds=HOUR,
    )
    by_email = window_usage(
        group="password-reset-email",
        key=request.POST.get("email", "").strip().lower(),
        limit=settings.PASSWORD_RESETS_PER_EMAIL_PER_HOUR,
        period_seconds=HOUR,
    )
    return by_ip.exceeded or by_email.exceeded


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
