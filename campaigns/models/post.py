from decimal import Decimal

from django.contrib.auth.models import User
from django.db import models
from django.db.models import Q
from django.urls import reverse

from campaigns.models.batch import BatchJob
from campaigns.models.campaign import Campaign
from shared.constraints import choices_check
from shared.failure_reasons import FAILURE_REASON_CHOICES, FailureReason, failure_sentence
from shared.platforms import Platform


class GenerationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    GENERATING = "generating", "Generating"
    SUCCEEDED = "succeeded", "Ready"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


class ReviewStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class PendingWork(models.TextChoices):
    """What the engine has to do for a post the next time it takes it.

    BATCH is the first generation of a batch's post and moves the batch's counters (a post that
    is done holds BATCH again); the others are regenerations asked for one post and leave the
    batch's counters alone.
    """

    BATCH = "batch", "Batch post"
    CAPTION = "caption", "Regenerate caption"
    IMAGE = "image", "Regenerate image"
    BOTH = "both", "Regenerate caption and image"


class PostQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> "PostQuerySet":
        return self.filter(campaign__workspace__memberships__user=user)


def post_image_path(post: "Post", filename: str) -> str:
    return f"posts/{post.campaign_id}/{filename}"


class Post(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="posts")
    batch = models.ForeignKey(BatchJob, on_delete=models.CASCADE, null=True, blank=True, related_name="posts")
    sequence = models.PositiveIntegerField(default=0, help_text="Position of the post within its batch.")
    platform = models.CharField(max_length=20, choices=Platform.choices)
    status = models.CharField(
        "generation status",
        max_length=20,
        choices=GenerationStatus.choices,
        default=GenerationStatus.PENDING,
        db_index=True,
    )
    # The column keeps the name "scope" it had before the field was named for what it holds.
    pending_work = models.CharField(
        max_length=10, choices=PendingWork.choices, default=PendingWork.BATCH, db_column="scope"
    )
    review_status = models.CharField(max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.DRAFT)
    caption = models.TextField(blank=True)
    hashtags = models.JSONField(default=list, blank=True)
    headline = models.CharField(max_length=200, blank=True, help_text="Short line printed on the image.")
    image = models.ImageField(upload_to=post_image_path, blank=True, max_length=255)
    thumbnail = models.ImageField(
        upload_to=post_image_path, blank=True, max_length=255, help_text="Small copy of the image for lists."
    )
    image_prompt = models.TextField(blank=True)
    # The provider's own words (redacted): for staff, in the admin. Marketers read failure_reason's sentence.
    error_message = models.TextField(blank=True)
    failure_reason = models.CharField(
        max_length=20,
        choices=FAILURE_REASON_CHOICES,
        blank=True,
        help_text="Why the last generation failed (blank: it did not, or an internal error).",
    )
    attempts = models.PositiveIntegerField(default=0, help_text="How many times a worker took this post.")
    lease_owner = models.CharField(max_length=120, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=10, decimal_places=6, default=Decimal("0"))
    scheduled_at = models.DateTimeField(null=True, blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PostQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            choices_check("status", GenerationStatus),
            choices_check("review_status", ReviewStatus),
            models.CheckConstraint(condition=Q(pending_work__in=PendingWork.values), name="campaigns_post_scope_valid"),
            choices_check("platform", Platform),
            models.CheckConstraint(
                condition=Q(failure_reason__in=["", *(reason.value for reason in FailureReason)]),
                name="post_failure_reason_valid",
            ),
            models.CheckConstraint(
                condition=Q(attempts__gte=0, prompt_tokens__gte=0, completion_tokens__gte=0, cost_usd__gte=0),
                name="post_counters_non_negative",
            ),
            models.CheckConstraint(
                condition=~Q(status=GenerationStatus.GENERATING) | Q(lease_expires_at__isnull=False),
                name="post_generating_has_lease",
            ),
            # Invariant 1: a batch's N posts are numbered 0..N-1 once, so none can be added twice.
            models.UniqueConstraint(fields=["batch", "sequence"], name="post_unique_sequence_per_batch"),
        ]
        indexes = [
            # The campaign page: a campaign's posts by status, newest first.
            models.Index(fields=["campaign", "status", "-created_at"], name="post_campaign_status_created"),
            models.Index(fields=["campaign", "-created_at", "-id"], name="post_campaign_created"),
            models.Index(fields=["campaign", "platform", "-created_at"], name="post_campaign_platform"),
            models.Index(fields=["campaign", "scheduled_at"], name="post_campaign_scheduled"),
            models.Index(fields=["batch", "status"], name="post_batch_status"),
            # The engine's claim: pending posts in fair order (sequence first, so batches interleave).
            models.Index(
                fields=["sequence", "batch"],
                name="post_claimable_pending",
                condition=Q(status=GenerationStatus.PENDING),
            ),
            models.Index(
                fields=["lease_expires_at"],
                name="post_generating_lease",
                condition=Q(status=GenerationStatus.GENERATING),
            ),
        ]

    def __str__(self) -> str:
        label = self.get_platform_display()
        snippet = (self.caption[:40] + "…") if len(self.caption) > 40 else self.caption
        return f"{label} post #{self.pk}" + (f": {snippet}" if snippet else "")

    def get_absolute_url(self) -> str:
        return reverse("campaigns:post_detail", args=[self.pk])

    @property
    def is_busy(self) -> bool:
        return self.status in (GenerationStatus.PENDING, GenerationStatus.GENERATING)

    @property
    def error_for_marketers(self) -> str:
        """What the post's owner is told of a failure: a plain sentence, never the provider's text."""
        if self.status == GenerationStatus.FAILED:
            return failure_sentence(self.failure_reason)
        if self.status == GenerationStatus.SUCCEEDED and self.error_message:
            return f"Regeneration failed: {failure_sentence(self.failure_reason)}"
        if self.status == GenerationStatus.CANCELED:
            return self.error_message  # ours: "Canceled.", or the cost cap that stopped its batch
        return ""

    @property
    def hashtag_text(self) -> str:
        return " ".join(self.hashtags)
