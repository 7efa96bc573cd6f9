from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from shared.constraints import choices_check

# An export still unfinished this long after its job's time limit has stalled (Export.has_stalled).
EXPORT_STALL_GRACE_SECONDS = 600


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Ready"
    FAILED = "failed", "Failed"


class Export(models.Model):
    """A ZIP of a campaign's posts (the CSV and the images), made by a worker (exports.jobs).

    Its file is in media storage under a name with 128 random bits, served only through the
    download view to those who may see the campaign, until expires_at.
    """

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    filters = models.JSONField(default=dict, blank=True, help_text="The posts grid's filters, as on screen.")
    download_name = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    total_count = models.PositiveIntegerField(default=0)
    done_count = models.PositiveIntegerField(default=0)
    file = models.FileField(blank=True, max_length=255)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "campaigns_export"
        ordering = ["-created_at"]
        constraints = [
            choices_check("status", ExportStatus, prefix="campaigns_%(class)s"),
            models.CheckConstraint(
                condition=Q(done_count__lte=models.F("total_count")), name="export_done_within_total"
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "-created_at"], name="export_campaign_created"),
            # Expired files are swept by the next export (exports.jobs).
            models.Index(fields=["expires_at"], name="export_expires", condition=Q(expires_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"Export #{self.pk} of {self.campaign}"

    def get_absolute_url(self) -> str:
        return reverse("exports:export_detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status in (ExportStatus.QUEUED, ExportStatus.RUNNING) and not self.has_stalled

    @property
    def has_stalled(self) -> bool:
        """Still queued or running long after any job would have ended: its worker died, its job hit
        the time limit, or Redis lost it. The page then says so instead of waiting for ever."""
        deadline = self.created_at + timedelta(seconds=settings.EXPORT_JOB_TIMEOUT + EXPORT_STALL_GRACE_SECONDS)
        return self.status in (ExportStatus.QUEUED, ExportStatus.RUNNING) and timezone.now() > deadline

    @property
    def progress_percent(self) -> int:
        return min(100, round(100 * self.done_count / self.total_count)) if self.total_count else 0

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())
