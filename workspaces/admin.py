"""Staff see and change every workspace, its members and their roles; invitations are read-only."""

from decimal import Decimal

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from shared.read_only_admin import ReadOnlyAdmin
from workspaces import selectors
from workspaces.models import Invitation, Membership, Workspace


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    """Staff see and change every workspace: its settings and its members with their roles."""

    list_display = ("name", "slug", "personal_for", "approval_required", "spend_this_month", "created_at")
    list_filter = ("approval_required",)
    search_fields = ("name", "slug", "memberships__user__username")
    list_select_related = ("personal_for",)
    autocomplete_fields = ("personal_for",)
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at",)
    fields = ("name", "slug", "personal_for", "approval_required", "monthly_budget_usd", "created_at")
    # Deleting one that still holds campaigns is refused (Campaign.workspace is PROTECT): the admin lists them.
    inlines = (MembershipInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Workspace]:
        return selectors.with_spend_this_month(super().get_queryset(request))

    @admin.display(description="Spent this month", ordering="spent_this_month")
    def spend_this_month(self, workspace: Workspace) -> str:
        """'$12.34 of $50.00 (25%)', or the spend alone when the workspace has no budget."""
        spent = getattr(workspace, "spent_this_month", Decimal("0"))
        budget = workspace.monthly_budget_usd
        if budget is None:
            return f"${spent:,.2f} (no budget)"
        share = f" ({spent / budget:.0%})" if budget else ""
        return f"${spent:,.2f} of ${budget:,.2f}{share}"


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "workspace", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "user__email", "workspace__name", "workspace__slug")
    list_select_related = ("user", "workspace")
    autocomplete_fields = ("user", "workspace")


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    """Who invited whom to which workspace, and whether the link was used or revoked; never the link."""

    list_display = ("created_at", "workspace", "role", "email", "created_by", "state", "accepted_by", "expires_at")
    list_filter = ("role",)
    list_select_related = ("workspace", "created_by", "accepted_by")
    search_fields = ("workspace__name", "email", "created_by__username", "accepted_by__username")
    fields = (
        "workspace",
        "role",
        "email",
        "created_by",
        "created_at",
        "expires_at",
        "accepted_by",
        "accepted_at",
        "revoked_at",
    )
