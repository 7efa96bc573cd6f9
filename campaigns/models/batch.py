from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from campaigns.models.campaign import MAX_BATCH_SIZE, Campaign, validate_platform_list
from shared.constraints import choices_check


class BatchStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIALLY_FAILED = "partially_failed", "Partially failed"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


ACTIVE_BATCH_STATUSES = (BatchStatus.QUEUED, BatchStatus.RUNNING)


class BatchMode(models.TextChoices):
    """How a batch's posts are generated: request by request, or through the provider's Batch API."""

    STANDARD = "standard", "Standard"
    ECONOMY = "economy", "Economy"


class BatchJob(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="batches")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_count = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(MAX_BATCH_SIZE)])
    platforms = models.JSONField(default=list, validators=[validate_platform_list])
    status = models.CharField(max_length=20, choices=BatchStatus.choices, default=BatchStatus.QUEUED, db_index=True)
    mode = models.CharField(
        max_length=10,
        choices=BatchMode.choices,
        default=BatchMode.STANDARD,
        help_text="Economy: through the provider's Batch API, about half the cost, done within 24 hours.",
    )
    # An economy batch's current provider batch as the progress panel shows it (phase, status,
    # total, completed, failed, provider_batches), copied by the poller from its ProviderBatch rows
    # so that the panel still reads this one row.
    provider_progress = models.JSONField(default=dict, blank=True)
    succeeded_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    canceled_count = models.PositiveIntegerField(default=0)
    provider = models.CharField(max_length=40, blank=True)
    text_model = models.CharField(max_length=100, blank=True)
    image_model = models.CharField(max_length=100, blank=True)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    image_count = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"))
    cost_cap_usd = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    error_summary = models.TextField(blank=True)
    rq_job_ids = models.JSONField(default=list, blank=True, help_text="Chunk jobs enqueued on RQ for this batch.")
    # The API's Idempotency-Key, and a digest of what was asked with it (services.batch_start_once).
    idempotency_key = models.CharField(max_length=255, blank=True)
    idempotency_fingerprint = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "batch"
        verbose_name_plural = "batches"
        constraints = [
            choices_check("status", BatchStatus),
            choices_check("mode", BatchMode),
            models.CheckConstraint(
                condition=Q(requested_count__gte=1) & Q(requested_count__lte=MAX_BATCH_SIZE),
                name="batch_requested_count_in_range",
            ),
            models.CheckConstraint(
                condition=Q(
                    succeeded_count__gte=0,
                    failed_count__gte=0,
                    canceled_count__gte=0,
                    prompt_tokens__gte=0,
                    completion_tokens__gte=0,
                    cost_usd__gte=0,
                ),
                name="batch_counters_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(
                    requested_count__gte=models.F("succeeded_count")
                    + models.F("failed_count")
                    + models.F("canceled_count")
                ),
                name="batch_counters_within_requested",
            ),
            # One batch per Idempotency-Key and requester: a retried request finds the first one's batch.
            models.UniqueConstraint(
                fields=["requested_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="batch_idempotency_key_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "-created_at"], name="batch_campaign_created"),
            models.Index(fields=["status", "created_at"], name="batch_status_created"),
        ]

    def __str__(self) -> str:
        posts = ngettext("post", "posts", self.requested_count)
        return f"Batch #{self.pk} · {self.requested_count} {posts} for {self.campaign}"

    def get_absolute_url(self) -> str:
        return reverse("campaigns:batch_detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_BATCH_STATUSES

    @property
    def is_economy(self) -> bool:
        return self.mode == BatchMode.ECONOMY

    @property
    def done_count(self) -> int:
        return self.succeeded_count + self.failed_count + self.canceled_count

    @property
    def progress_percent(self) -> int:
        return min(100, round(100 * self.done_count / self.requested_count)) if self.requested_count else 0

    @property
    def generated_count(self) -> int:
        """Posts the engine finished, written or failed: canceled ones were never made."""
        return self.succeeded_count + self.failed_count

    @property
    def generated_percent(self) -> int:
        """What the bar shows: a canceled batch of 1,000 that made 50 reads 5%, not 100%."""
        return min(100, round(100 * self.generated_count / self.requested_count)) if self.requested_count else 0

    @property
    def seconds_elapsed(self) -> float | None:
        if not self.started_at:
            return None
        end = self.finished_at or timezone.now()
        return max((end - self.started_at).total_seconds(), 0.0)

    @property
    def posts_per_minute(self) -> float | None:
        elapsed = self.seconds_elapsed
        finished = self.succeeded_count + self.failed_count
        if not elapsed or not finished:
            return None
        return finished * 60 / elapsed

    @property
    def eta_seconds(self) -> float | None:
        rate = self.posts_per_minute
        if not rate or not self.is_active:
            return None
        return (self.requested_count - self.done_count) * 60 / rate
