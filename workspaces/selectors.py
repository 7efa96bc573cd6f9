"""Reads of workspaces: which a person belongs to, with what role, who else is in them, and what
the workspace spent this month."""

from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import BooleanField, Case, DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from workspaces.models import Invitation, Membership, Workspace


def workspaces_for(user: User) -> QuerySet[Workspace]:
    """The workspaces `user` is a member of, their personal one first, then by name; each with
    `viewer_role`, the user's role there (from the same join)."""
    return (
        Workspace.objects.filter(memberships__user=user)
        .annotate(viewer_role=F("memberships__role"))
        .annotate(is_personal=Case(When(personal_for=user, then=True), default=False, output_field=BooleanField()))
        .order_by("-is_personal", "name", "pk")
    )


def membership_of(user: User | AnonymousUser, workspace: Workspace | int) -> Membership | None:
    """The user's membership of the workspace, or None: one row by the unique (workspace, user)."""
    if not user.is_authenticated:
        return None
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    return Membership.objects.filter(workspace_id=workspace_id, user=user).first()


def workspace_members(workspace: Workspace) -> QuerySet[Membership]:
    return Membership.objects.filter(workspace=workspace).select_related("user").order_by("user__username")


def workspace_invitations(workspace: Workspace) -> QuerySet[Invitation]:
    return Invitation.objects.filter(workspace=workspace).select_related("created_by")


def workspace_pending_invitations(workspace: Workspace) -> QuerySet[Invitation]:
    """Invitations not yet used, revoked or expired, newest first: what an owner may still revoke."""
    return workspace_invitations(workspace).filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


def month_start() -> datetime:
    """Midnight on the first of this month, in TIME_ZONE: where a workspace's monthly spend starts."""
    return timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _spend_since(start: datetime) -> Subquery:
    """The cost of the outer workspace's batches created since `start` (regenerations count toward
    their batch). It reads the batches through the relation campaigns declares on the workspace
    (campaigns__batches): one aggregate per workspace, whatever else the outer query joins."""
    return Subquery(
        Workspace.objects.filter(pk=OuterRef("pk"))
        .annotate(
            total=Sum("campaigns__batches__cost_usd", filter=Q(campaigns__batches__created_at__gte=start)),
        )
        .values("total"),
        output_field=DecimalField(max_digits=14, decimal_places=6),
    )


def workspace_spend_this_month(workspace: Workspace) -> Decimal:
    spent = Workspace.objects.filter(pk=workspace.pk).values_list(
        Coalesce(_spend_since(month_start()), Decimal("0")), flat=True
    )
    return spent.first() or Decimal("0")


def with_spend_this_month(workspaces: QuerySet[Workspace]) -> QuerySet[Workspace]:
    """`workspaces`, each with `spent_this_month` (USD): one subquery, for the admin's list."""
    return workspaces.annotate(spent_this_month=Coalesce(_spend_since(month_start()), Decimal("0")))
