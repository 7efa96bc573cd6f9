"""The person's own side: signing in (which picks up the browser's time zone) and their settings."""

from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts import selectors as accounts_selectors
from accounts import services
from accounts.forms import TimeZoneForm
from accounts.middleware import TIME_ZONE_SESSION_KEY
from shared.http import HtmxHttpRequest, login_required


class SignedInRequest(HtmxHttpRequest):
    user: User


class SignInView(LoginView):
    """Django's sign-in, plus: the first time, the time zone the browser reports (a hidden field that
    static/js/app.js fills) becomes the person's, until they change it in their settings."""

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        user = form.get_user()
        if services.profile_adopt_browser_time_zone(user=user, time_zone=self.request.POST.get("time_zone", "")):
            self.request.session[TIME_ZONE_SESSION_KEY] = accounts_selectors.time_zone_of(user)
        return response


@login_required
@require_http_methods(["GET", "POST"])
def account_settings(request: SignedInRequest) -> HttpResponse:
    form = TimeZoneForm(request.POST or None, initial={"time_zone": accounts_selectors.time_zone_of(request.user)})
    if request.method == "POST" and form.is_valid():
        try:
            profile = services.profile_set_time_zone(user=request.user, time_zone=form.cleaned_data["time_zone"])
        except ValidationError as error:
            form.add_error("time_zone", error)
        else:
            request.session[TIME_ZONE_SESSION_KEY] = profile.time_zone
            messages.success(request, f"Saved: times are now shown in {profile.time_zone or 'the default time zone'}.")
            return redirect("accounts:settings")
    return render(request, "accounts/account_settings.html", {"form": form, "nav": "settings"})
