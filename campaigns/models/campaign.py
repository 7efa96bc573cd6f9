from datetime import date

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from shared.languages import Language
from shared.platforms import Platform

PLATFORM_VALUES = tuple(Platform.values)
MAX_BATCH_SIZE = 1000
DEFAULT_BRAND_COLOR = "#2F5BEA"
# The campaign's fields that posts are written from: what the AI provider is told of a campaign.
BRIEF_FIELDS = (
    "name",
    "brief",
    "target_audience",
    "tone",
    "language",
    "keywords",
    "hashtags",
    "call_to_action",
    "brand_color",
)


def validate_platform_list(value: object) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("Choose at least one platform.")
    unknown = [item for item in value if item not in PLATFORM_VALUES]
    if unknown:
        raise ValidationError(
            "Unknown platform %(unknown)s; choose from %(choices)s.",
            params={"unknown": ", ".join(map(str, unknown)), "choices": ", ".join(PLATFORM_VALUES)},
        )
    if len(set(value)) != len(value):
        raise ValidationError("Each platform may appear only once.")


class CampaignQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> "CampaignQuerySet":
        """Campaigns of the workspaces `user` is a member of (one join: a user has one membership per workspace)."""
        return self.filter(workspace__memberships__user=user)

    def active(self, on: date | None = None) -> "CampaignQuerySet":
        """Campaigns running on a date (today by default): open-ended dates count as running."""
        day = on or timezone.localdate()
        return self.filter(
            Q(start_date__isnull=True) | Q(start_date__lte=day),
            Q(end_date__isnull=True) | Q(end_date__gte=day),
        )


class Campaign(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.PROTECT, related_name="campaigns")
    # SET_NULL: a team's campaign stays with the team when its creator's account is deleted.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="campaigns",
        help_text="Who created the campaign; the workspace's members act on it by role.",
    )
    name = models.CharField(max_length=120)
    brief = models.TextField(
        max_length=4000, help_text="The goal of the campaign: what to promote, and why anyone should care."
    )
    target_audience = models.CharField(max_length=300, blank=True)
    tone = models.CharField("tone / brand voice", max_length=200, blank=True)
    platforms = models.JSONField(default=list, validators=[validate_platform_list])
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.ENGLISH)
    keywords = models.JSONField(default=list, blank=True)
    hashtags = models.JSONField("hashtags to include", default=list, blank=True)
    call_to_action = models.CharField(max_length=200, blank=True)
    brand_color = models.CharField(
        max_length=7,
        default=DEFAULT_BRAND_COLOR,
        validators=[RegexValidator(r"^#[0-9A-Fa-f]{6}$", f"Use a hex colour such as {DEFAULT_BRAND_COLOR}.")],
        help_text="Background colour of generated images.",
    )
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "workspace", name="campaign_name_unique_per_workspace"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=models.F("start_date")),
                name="campaign_dates_ordered",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="campaign_workspace_created")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("campaigns:detail", args=[self.pk])

    def clean(self) -> None:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "The end date must be on or after the start date."})
