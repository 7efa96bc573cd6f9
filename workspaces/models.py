"""A team and who is in it: workspaces, their members by role, and the invitations that bring people in.

The tables keep the names they had when these models lived in `campaigns` (moved state-only).
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from shared.constraints import choices_check
from workspaces.roles import Role


class Workspace(models.Model):
    """A team (or one marketer alone): it owns campaigns, and its members act on them by role."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    personal_for = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="personal_workspace",
        help_text="The user this workspace was made for on their first visit; empty for a team's.",
    )
    approval_required = models.BooleanField(
        default=False, help_text="Posts are scheduled or exported as approved only after a reviewer approves them."
    )
    monthly_budget_usd = models.DecimalField(
        "monthly budget (USD)",
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Empty for no budget.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "campaigns_workspace"
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(monthly_budget_usd__isnull=True) | Q(monthly_budget_usd__gte=0),
                name="workspace_budget_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "campaigns_membership"
        ordering = ["workspace", "user"]
        constraints = [
            choices_check("role", Role, prefix="campaigns_%(class)s"),
            # One role per person and workspace: require() reads exactly one row.
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user_per_workspace"),
        ]
        indexes = [models.Index(fields=["user", "workspace"], name="membership_user_workspace")]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.get_role_display()})"


class Invitation(models.Model):
    """A link an owner made for one person to join `workspace` with `role`: used once, revocable,
    and valid until expires_at (workspaces.services.members)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=10, choices=Role.choices)
    email = models.EmailField(blank=True, help_text="Where the link was emailed, if it was.")
    # SHA-256 of the link's random token: the link is shown once, and the table holds no working link.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "campaigns_invitation"
        ordering = ["-created_at", "-pk"]
        constraints = [
            choices_check("role", Role, prefix="campaigns_%(class)s"),
            # Used or revoked, never both: each is a conditional UPDATE of a pending row.
            models.CheckConstraint(
                condition=Q(accepted_at__isnull=True) | Q(revoked_at__isnull=True), name="invitation_used_or_revoked"
            ),
        ]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="invitation_workspace_created")]

    def __str__(self) -> str:
        return f"Invitation to {self.workspace} as {self.get_role_display().lower()}"

    @property
    def state(self) -> str:
        if self.accepted_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= timezone.now() else "pending"
