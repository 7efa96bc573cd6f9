"""The current workspace's webhook endpoints: register, edit, enable or disable, rotate the secret;
each one's delivery log, with redeliver. Its owners' (Action.MANAGE_WORKSPACE): others get 403."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shared.http import login_required
from webhooks import services
from webhooks.forms import EndpointForm
from webhooks.models import WebhookEndpoint
from workspaces.access import require
from workspaces.models import Workspace
from workspaces.roles import Action
from workspaces.view_access import AuthenticatedHttpRequest, owned_or_404


def _manager(request: AuthenticatedHttpRequest) -> Workspace:
    """The current workspace, if the user may manage it (PermissionDenied otherwise: 403)."""
    workspace: Workspace = request.workspace
    require(request.user, workspace, Action.MANAGE_WORKSPACE)
    return workspace


def _endpoint(request: AuthenticatedHttpRequest, pk: int) -> WebhookEndpoint:
    return owned_or_404(services.endpoint_for, workspace=_manager(request), pk=pk)


def _refused(form: EndpointForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, field_errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        form.add_error(None, error)


@login_required
@require_http_methods(["GET", "POST"])
def endpoint_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    workspace = _manager(request)
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.endpoint_create(workspace=workspace, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _refused(form, error)
        else:
            messages.success(request, "Endpoint added. Verify our signatures with its secret, below.")
            return redirect("webhooks:detail", pk=endpoint.pk)
    context = {"form": form, "endpoints": services.endpoints_of(workspace), "workspace": workspace, "nav": "api"}
    return render(request, "webhooks/endpoint_list.html", context)


def _detail(request: AuthenticatedHttpRequest, endpoint: WebhookEndpoint, form: EndpointForm) -> HttpResponse:
    context = {"endpoint": endpoint, "form": form, "deliveries": services.deliveries_of(endpoint), "nav": "api"}
    return render(request, "webhooks/endpoint_detail.html", context)


@login_required
@require_GET
def endpoint_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    return _detail(request, endpoint, EndpointForm.of(endpoint))


@login_required
@require_POST
def endpoint_update(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    form = EndpointForm(request.POST)
    if form.is_valid():
        try:
            services.endpoint_update(endpoint=endpoint, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _refused(form, error)
        else:
            messages.success(request, "Endpoint saved.")
            return redirect("webhooks:detail", pk=endpoint.pk)
    endpoint.refresh_from_db()
    return _detail(request, endpoint, form)


@login_required
@require_POST
def endpoint_state(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    action = request.POST.get("action", "")
    if action == "enable":
        services.endpoint_enable(endpoint=endpoint, actor=request.user)
        messages.success(request, "Endpoint enabled: new events are sent to it again.")
    elif action == "disable":
        services.endpoint_disable(endpoint=endpoint, actor=request.user)
        messages.success(request, "Endpoint disabled: no event is sent to it until you enable it.")
    elif action == "rotate":
        services.endpoint_rotate_secret(endpoint=endpoint, actor=request.user)
        messages.success(request, "New secret made: the old one no longer signs anything.")
    elif action == "delete":
        services.endpoint_delete(endpoint=endpoint, actor=request.user)
        messages.success(request, "Endpoint deleted, with its delivery log.")
        return redirect("webhooks:list")
    else:
        messages.error(request, "Choose enable, disable, rotate or delete.")
    return redirect("webhooks:detail", pk=pk)


@login_required
@require_POST
def delivery_redeliver(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    delivery = owned_or_404(services.delivery_for, workspace=_manager(request), pk=pk)
    try:
        services.delivery_redeliver(delivery=delivery, actor=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"Delivery of {delivery.event} queued again.")
    return redirect("webhooks:detail", pk=delivery.endpoint_id)
