"""The RQ dashboard (django-rq, in the admin) for superusers only, with its indexes bounded.

django-rq lets any staff user in, and a staff user there can delete or requeue any job: that is
an operator's power, so only superusers get it. Its routes take queue, connection and scheduler
indexes and index a list with them, so an index past the end (or 9223372036854775808) was a 500;
here it is a 404.

Its page of rq-scheduler's jobs (`schedulers/<index>/`) needs the rq-scheduler package, which the
project does not use: the clock runs rq's cron scheduler (rq.cron, clock.scheduler), which the
dashboard's home lists under "Cron schedulers". Without the package that page was a 500; here it
sends the superuser to the dashboard's home, with a message saying where the clock's jobs are.
"""

import importlib.util
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import URLPattern
from django_rq.admin import QueueAdmin
from django_rq.connection_utils import get_unique_connection_configs
from django_rq.models import Dashboard
from django_rq.settings import get_queues_list


def may_use_rq_dashboard(user: User | AnonymousUser) -> bool:
    return user.is_active and user.is_superuser


def _index_bounds() -> dict[str, int]:
    """How many of each thing the dashboard's routes index: the route's argument must be below it."""
    queues = len(get_queues_list())
    return {
        "queue_index": queues,
        "scheduler_index": queues,
        "connection_index": len(get_unique_connection_configs()),
    }


def _superusers_only(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Visitors who are not staff go on to the view, whose admin check sends them to the admin's sign-in.
        if request.user.is_staff and not may_use_rq_dashboard(request.user):
            raise PermissionDenied("The RQ dashboard is for superusers.")
        bounds = _index_bounds()
        for name, value in kwargs.items():
            if name in bounds and not 0 <= value < bounds[name]:
                raise Http404("No such queue, connection or scheduler.")
        return view(request, *args, **kwargs)

    return guarded


def _no_rq_scheduler(request: HttpRequest, scheduler_index: int) -> HttpResponseBase:
    messages.info(
        request,
        "rq-scheduler is not installed: the clock runs rq's cron scheduler, listed under Cron schedulers.",
    )
    return redirect("admin:django_rq_home")


class RQDashboardAdmin(QueueAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_use_rq_dashboard(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_use_rq_dashboard(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_use_rq_dashboard(request.user)

    def get_urls(self) -> list[URLPattern]:
        urls = super().get_urls()
        without_rq_scheduler = importlib.util.find_spec("rq_scheduler") is None
        for pattern in urls:
            if isinstance(pattern, URLPattern):
                if pattern.name == "django_rq_scheduler_jobs" and without_rq_scheduler:
                    pattern.callback = admin.site.admin_view(_no_rq_scheduler)
                pattern.callback = _superusers_only(pattern.callback)
        return urls


if admin.site.is_registered(Dashboard):
    admin.site.unregister(Dashboard)
admin.site.register(Dashboard, RQDashboardAdmin)
