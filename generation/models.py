"""What only the engine owns: the batches it submits to the provider's Batch API (economy mode), and
the lease it holds on an economy batch's posts while the provider works on them.

The posts' own lease columns (lease_owner, lease_expires_at) stay on the Post row: the claim is one
conditional UPDATE of that row (invariant 2), and a second table would put a join on every claim.
ProviderBatch's table keeps the name it had in `campaigns` (moved state-only).
"""

from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone

from shared.constraints import choices_check

# An economy batch's posts are leased to the batch itself while the provider works on them: no
# chunk job claims them, and its poller writes their results under this lease (invariant 2). The
# lease outlives the provider's 24-hour completion window, then lets the standard path take over.
ECONOMY_LEASE = timedelta(hours=26)


def economy_lease_owner(batch_id: int) -> str:
    return f"economy:{batch_id}"


class BatchPhase(models.TextChoices):
    CAPTIONS = "captions", "Captions"
    IMAGES = "images", "Images"


class ProviderBatchStatus(models.TextChoices):
    """OpenAI's batch statuses, and ours before the provider has the batch."""

    PREPARING = "preparing", "Preparing"
    VALIDATING = "validating", "Validating"
    IN_PROGRESS = "in_progress", "In progress"
    FINALIZING = "finalizing", "Finalizing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"
    CANCELLING = "cancelling", "Cancelling"
    CANCELLED = "cancelled", "Cancelled"


PROVIDER_BATCH_ENDED = (
    ProviderBatchStatus.COMPLETED,
    ProviderBatchStatus.FAILED,
    ProviderBatchStatus.EXPIRED,
    ProviderBatchStatus.CANCELLED,
)


class ProviderBatch(models.Model):
    """One batch at the provider (OpenAI's Batch API) for an economy BatchJob: one phase, one round.

    Round 0 of a phase holds all the posts it is for; a later round holds the lines the one before
    did not get done (expired). Every id the provider gave is stored as soon as it is known, and
    `submission_key` goes with the batch as metadata, so a poller that died between creating the
    batch and saving its id finds it again instead of submitting the phase twice. A poller works on
    a row only under its lease (poll_owner, poll_expires_at), taken with one conditional UPDATE.
    """

    batch = models.ForeignKey("campaigns.BatchJob", on_delete=models.CASCADE, related_name="provider_batches")
    phase = models.CharField(max_length=10, choices=BatchPhase.choices)
    round = models.PositiveSmallIntegerField(default=0)
    post_ids = models.JSONField(default=list, help_text="The posts whose lines this batch carries.")
    submission_key = models.CharField(max_length=64)
    input_file_id = models.CharField(max_length=100, blank=True)
    create_sent_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a create request was sent: the batch may exist without our knowing its id.",
    )
    provider_batch_id = models.CharField(max_length=100, blank=True)
    output_file_id = models.CharField(max_length=100, blank=True)
    error_file_id = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=12, choices=ProviderBatchStatus.choices, default=ProviderBatchStatus.PREPARING)
    total_count = models.PositiveIntegerField(default=0)
    completed_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    cancel_sent = models.BooleanField(default=False)
    done = models.BooleanField(default=False, help_text="Its results are written: nothing more to do with it.")
    poll_owner = models.CharField(max_length=120, blank=True)
    poll_expires_at = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "campaigns_providerbatch"
        ordering = ["batch", "created_at", "id"]
        constraints = [
            choices_check("phase", BatchPhase, prefix="campaigns_%(class)s"),
            choices_check("status", ProviderBatchStatus, prefix="campaigns_%(class)s"),
            # A phase's round is submitted once, whatever restarts in between.
            models.UniqueConstraint(fields=["batch", "phase", "round"], name="provider_batch_unique_round"),
        ]
        indexes = [
            # The pollers' claim: unfinished rows that are due.
            models.Index(fields=["next_poll_at"], name="provider_batch_due", condition=Q(done=False)),
        ]

    def __str__(self) -> str:
        return f"{self.get_phase_display()} round {self.round} of batch #{self.batch_id}"
