from django.conf import settings
from django.db import models
from django.db.models import Q


class TokenAccess(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Read and write"


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> "ApiTokenQuerySet":
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class ApiToken(models.Model):
    """A bearer token for the API. Only its SHA-256 is kept: the token is shown once, when made.

    It acts for its user in its one workspace, with the user's role there and never more (a user
    who leaves the workspace leaves their tokens dead); a read token changes nothing even when its
    user could.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80, help_text="What the token is for, e.g. “n8n CRM sync”.")
    # What the token may do, read or write (the column keeps its first name, scope).
    access = models.CharField(max_length=5, choices=TokenAccess.choices, default=TokenAccess.READ, db_column="scope")
    # The first characters of the token, shown in lists so that a member can tell tokens apart.
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(access__in=TokenAccess.values), name="api_token_scope_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def can_write(self) -> bool:
        return self.access == TokenAccess.WRITE
