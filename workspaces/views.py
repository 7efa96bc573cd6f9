"""The workspace switcher in the header, the members page (owners), and joining by invitation link."""

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from shared.http import login_required
from shared.text import RefuseControlCharacters
from workspaces import selectors as workspaces_selectors
from workspaces.access import require
from workspaces.middleware import SESSION_KEY
from workspaces.models import Membership, Workspace
from workspaces.roles import ROLE_ACTIONS, Action, Role
from workspaces.services import members
from workspaces.services.workspaces import workspace_update
from workspaces.view_access import AuthenticatedHttpRequest


class WorkspaceSettingsForm(RefuseControlCharacters, forms.ModelForm):
    """The settings an owner changes on the members page (workspaces.services.workspaces.WORKSPACE_SETTINGS)."""

    class Meta:
        model = Workspace
        fields = ["name", "approval_required", "monthly_budget_usd"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        spent = workspaces_selectors.workspace_spend_this_month(self.instance)
        self.fields["monthly_budget_usd"].help_text = (
            f"Spent this month: ${spent:,.2f}. A batch that would take the workspace over it is refused; "
            "empty for no budget."
        )


class InviteForm(RefuseControlCharacters, forms.Form):
    role = forms.ChoiceField(choices=Role.choices, initial=Role.EDITOR)
    email = forms.EmailField(required=False, help_text="Optional: the link is emailed when email is set up.")


@login_required
@require_POST
def workspace_switch(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Work in another of one's workspaces (kept in the session), then back to the campaign list."""
    value = request.POST.get("workspace", "")
    chosen = None
    if value.isdigit() and int(value) < 2**63:  # a bigint, or no row: never a database error
        chosen = workspaces_selectors.workspaces_for(request.user).filter(pk=int(value)).first()
    if chosen is None:
        raise Http404("Not found")
    request.session[SESSION_KEY] = chosen.pk
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}) or "/campaigns/" in back:
        back = reverse("campaigns:list")  # a campaign page of the workspace left would only confuse
    return redirect(back)


def _members_page(request: AuthenticatedHttpRequest, **context: object) -> HttpResponse:
    workspace = request.workspace
    context.setdefault("invite_form", InviteForm())
    context.setdefault("settings_form", WorkspaceSettingsForm(instance=workspace))
    return render(
        request,
        "workspaces/workspace_members.html",
        {
            "workspace": workspace,
            "memberships": workspaces_selectors.workspace_members(workspace),
            "pending_invitations": workspaces_selectors.workspace_pending_invitations(workspace),
            "roles": Role.choices,
            "role_actions": [(Role(role), sorted(a.label for a in actions)) for role, actions in ROLE_ACTIONS.items()],
            "email_configured": members.email_configured(),
            "nav": "members",
            **context,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def workspace_members(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The current workspace's members; its owners invite, change roles and remove here."""
    require(request.user, request.workspace, Action.MANAGE_MEMBERS)
    if request.method == "GET":
        return _members_page(request)
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _members_page(request, invite_form=form)
    link = members.invitation_create(
        workspace=request.workspace,
        actor=request.user,
        role=form.cleaned_data["role"],
        email=form.cleaned_data["email"],
        url_for=lambda token: request.build_absolute_uri(reverse("workspaces:invitation", args=[token])),
    )
    return _members_page(request, new_link=link)


def _membership(request: AuthenticatedHttpRequest, pk: int) -> Membership:
    membership = workspaces_selectors.workspace_members(request.workspace).filter(pk=pk).first()
    if membership is None:
        raise Http404("Not found")
    return membership


@login_required
@require_POST
def workspace_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    workspace = request.workspace
    require(request.user, workspace, Action.MANAGE_WORKSPACE)
    form = WorkspaceSettingsForm(request.POST, instance=Workspace.objects.get(pk=workspace.pk))
    if not form.is_valid():
        return _members_page(request, settings_form=form)
    workspace_update(workspace=form.instance, actor=request.user, **form.cleaned_data)
    messages.success(request, "Workspace settings saved.")
    return redirect("workspaces:members")


@login_required
@require_POST
def member_role(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    require(request.user, request.workspace, Action.MANAGE_MEMBERS)
    membership = _membership(request, pk)
    try:
        members.member_change_role(membership=membership, actor=request.user, role=request.POST.get("role", ""))
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"{membership.user.get_username()} is now {membership.get_role_display().lower()}.")
    return redirect("workspaces:members")


@login_required
@require_POST
def member_remove(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    require(request.user, request.workspace, Action.MANAGE_MEMBERS)
    membership = _membership(request, pk)
    try:
        members.member_remove(membership=membership, actor=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"{membership.user.get_username()} was removed from {request.workspace.name}.")
    return redirect("workspaces:members")


@login_required
@require_POST
def invitation_revoke(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    require(request.user, request.workspace, Action.MANAGE_MEMBERS)
    invitation = workspaces_selectors.workspace_invitations(request.workspace).filter(pk=pk).first()
    if invitation is None:
        raise Http404("Not found")
    try:
        members.invitation_revoke(invitation=invitation, actor=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, "Invitation revoked: its link no longer works.")
    return redirect("workspaces:members")


def _invitation_refused(request: AuthenticatedHttpRequest, error: ValidationError) -> HttpResponse:
    return render(request, "workspaces/invitation.html", {"error": error.messages[0]}, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def invitation(request: AuthenticatedHttpRequest, token: str) -> HttpResponse:
    """GET shows what the link invites to; POST joins (a GET never changes anything)."""
    if request.method == "POST":
        try:
            membership = members.invitation_accept(token=token, user=request.user)
        except ValidationError as error:
            return _invitation_refused(request, error)
        request.session[SESSION_KEY] = membership.workspace_id
        messages.success(request, f"Welcome to {membership.workspace.name}.")
        return redirect("campaigns:list")
    try:
        invited = members.invitation_read(token)
    except ValidationError as error:
        return _invitation_refused(request, error)
    already = workspaces_selectors.membership_of(request.user, invited.workspace)
    return render(request, "workspaces/invitation.html", {"invitation": invited, "already": already})
