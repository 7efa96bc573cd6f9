import zoneinfo
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from campaigns.failure_reasons import FAILURE_REASON_CHOICES, FailureReason, failure_sentence
from campaigns.platforms import Platform
from campaigns.roles import Role

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


def _choices_check(field: str, choices: type[models.TextChoices]) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{field}__in": choices.values}),
        name=f"%(app_label)s_%(class)s_{field}_valid",
    )


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    SPANISH = "es", "Spanish"
    FRENCH = "fr", "French"
    GERMAN = "de", "German"
    ITALIAN = "it", "Italian"
    PORTUGUESE = "pt", "Portuguese"
    DUTCH = "nl", "Dutch"
    POLISH = "pl", "Polish"
    SWEDISH = "sv", "Swedish"
    JAPANESE = "ja", "Japanese"


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
    ical_token = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(monthly_budget_usd__isnull=True) | Q(monthly_budget_usd__gte=0),
                name="workspace_budget_non_negative",
            ),
            # The calendar feed finds its workspace by this token on every poll: unique, so indexed;
            # partial, since most workspaces have none.
            models.UniqueConstraint(
                fields=["ical_token"], condition=~Q(ical_token=""), name="workspace_ical_token_unique"
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
        ordering = ["workspace", "user"]
        constraints = [
            _choices_check("role", Role),
            # One role per person and workspace: require() reads exactly one row.
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user_per_workspace"),
        ]
        indexes = [models.Index(fields=["user", "workspace"], name="membership_user_workspace")]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.get_role_display()})"


class Invitation(models.Model):
    """A link an owner made for one person to join `workspace` with `role`: used once, revocable,
    and valid until expires_at (campaigns.members)."""

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
        ordering = ["-created_at", "-pk"]
        constraints = [
            _choices_check("role", Role),
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
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="campaigns")
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


# An economy batch's posts are leased to the batch itself while the provider works on them: no
# chunk job claims them, and its poller writes their results under this lease (invariant 2). The
# lease outlives the provider's 24-hour completion window, then lets the standard path take over.
ECONOMY_LEASE = timedelta(hours=26)


def economy_lease_owner(batch_id: int) -> str:
    return f"economy:{batch_id}"


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
            _choices_check("status", BatchStatus),
            _choices_check("mode", BatchMode),
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

    batch = models.ForeignKey(BatchJob, on_delete=models.CASCADE, related_name="provider_batches")
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
        ordering = ["batch", "created_at", "id"]
        constraints = [
            _choices_check("phase", BatchPhase),
            _choices_check("status", ProviderBatchStatus),
            # A phase's round is submitted once, whatever restarts in between.
            models.UniqueConstraint(fields=["batch", "phase", "round"], name="provider_batch_unique_round"),
        ]
        indexes = [
            # The pollers' claim: unfinished rows that are due.
            models.Index(fields=["next_poll_at"], name="provider_batch_due", condition=Q(done=False)),
        ]

    def __str__(self) -> str:
        return f"{self.get_phase_display()} round {self.round} of batch #{self.batch_id}"


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


class GenerationScope(models.TextChoices):
    """What the engine still has to do for a post.

    BATCH is the first generation of a batch's post and moves the batch's counters;
    the others are regenerations asked for one post and leave the batch's counters alone.
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
    scope = models.CharField(max_length=10, choices=GenerationScope.choices, default=GenerationScope.BATCH)
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
            _choices_check("status", GenerationStatus),
            _choices_check("review_status", ReviewStatus),
            _choices_check("scope", GenerationScope),
            _choices_check("platform", Platform),
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


# An export still unfinished this long after its job's time limit has stalled (Export.has_stalled).
EXPORT_STALL_GRACE_SECONDS = 600


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Ready"
    FAILED = "failed", "Failed"


class Export(models.Model):
    """A ZIP of a campaign's posts (the CSV and the images), made by a worker (campaigns.export_jobs).

    Its file is in media storage under a name with 128 random bits, served only through the
    download view to those who may see the campaign, until expires_at.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="exports")
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
        ordering = ["-created_at"]
        constraints = [
            _choices_check("status", ExportStatus),
            models.CheckConstraint(
                condition=Q(done_count__lte=models.F("total_count")), name="export_done_within_total"
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "-created_at"], name="export_campaign_created"),
            # Expired files are swept by the next export (campaigns.export_jobs).
            models.Index(fields=["expires_at"], name="export_expires", condition=Q(expires_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"Export #{self.pk} of {self.campaign}"

    def get_absolute_url(self) -> str:
        return reverse("campaigns:export_detail", args=[self.pk])

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


class Comment(models.Model):
    """One message in a post's thread."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    body = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["post", "created_at"], name="comment_post_created")]

    def __str__(self) -> str:
        return f"Comment #{self.pk} on post #{self.post_id}"


class ActivityVerb(models.TextChoices):
    CREATED = "created", "created"
    EDITED = "edited", "edited"
    APPROVED = "approved", "approved"
    REJECTED = "rejected", "rejected"
    RETURNED_TO_DRAFT = "drafted", "moved back to draft"
    SCHEDULED = "scheduled", "scheduled"
    UNSCHEDULED = "unscheduled", "unscheduled"
    REGENERATED = "regenerated", "asked to regenerate"
    CANCELED = "canceled", "canceled"
    RETRIED = "retried", "retried the failed posts of"
    COMMENTED = "commented", "commented on"


class Activity(models.Model):
    """Who did what to which campaign, batch or post, and when: written by the services in the same
    transaction as the change itself. actor is the member, or the staff member in the admin; empty when
    no user is known (operators' commands, an account since deleted)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="activities")
    batch = models.ForeignKey(BatchJob, on_delete=models.CASCADE, null=True, blank=True, related_name="activities")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, null=True, blank=True, related_name="activities")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    verb = models.CharField(max_length=20, choices=ActivityVerb.choices)
    detail = models.CharField(max_length=200, blank=True)
    # Posts the action put in the queue again (a retry): they count against the actor's posts per
    # day (campaigns.quotas) as a new batch's do.
    queued_posts = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "activities"
        constraints = [_choices_check("verb", ActivityVerb)]
        indexes = [
            models.Index(fields=["post", "-created_at"], name="activity_post_created"),
            models.Index(fields=["batch", "-created_at"], name="activity_batch_created"),
            models.Index(fields=["campaign", "-created_at"], name="activity_campaign_created"),
            # The posts-per-day check reads a member's retries of the last 24 hours.
            models.Index(
                fields=["actor", "created_at"], condition=Q(verb=ActivityVerb.RETRIED), name="activity_retries_by_actor"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.actor or 'staff'} {self.get_verb_display()} ({self.created_at:%Y-%m-%d %H:%M})"


@lru_cache(maxsize=1)
def time_zone_names() -> frozenset[str]:
    """Every IANA zone name this machine knows (from the system or the tzdata package)."""
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value and value not in time_zone_names():
        raise ValidationError(
            "Unknown time zone %(value)s; pick one from the list, e.g. Europe/Madrid.", params={"value": value}
        )


class Profile(models.Model):
    """A person's own settings. Made on first need (services.profile_for); no row means the defaults."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    # Empty until the browser says at the first sign-in (or the person picks one): settings.TIME_ZONE meanwhile.
    time_zone = models.CharField(max_length=64, blank=True, validators=[validate_time_zone])

    def __str__(self) -> str:
        return f"Settings of {self.user}"
