from django.conf import settings
from django.db import models
from django.db.models import Q


class Event(models.TextChoices):
    BATCH_SUCCEEDED = "batch.succeeded", "A batch ended with every post generated"
    BATCH_FAILED = "batch.failed", "A batch ended with failed posts"
    BATCH_CANCELED = "batch.canceled", "A batch was canceled"
    POST_APPROVED = "post.approved", "A post was approved"
    EXPORT_READY = "export.ready", "An export is ready to download"


class WebhookEndpoint(models.Model):
    """A URL of a workspace that is sent the workspace's events it subscribes to, signed with its own secret."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="webhook_endpoints")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list)
    # "whsec_" and 24 random bytes in base64, the Standard Webhooks form of a secret.
    secret = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    # Why it was disabled (by its failures, or by its owner), shown on its page.
    disabled_reason = models.TextField(blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Attempts failed in a row, across deliveries; a success sets it back to 0.
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Failed"


class DeliveryFailure(models.TextChoices):
    """Why an attempt failed: the code stored in WebhookDelivery.last_error, and the owner's sentence.

    Only the code is stored and shown, never the receiver's answer or the network's error text: an
    endpoint's owner chooses its URL, and what a refused or failing address says back (or how it
    fails) would tell them about networks they may not reach. The details go to the workers' log."""

    ENDPOINT_DISABLED = "endpoint_disabled", "Not sent: the endpoint is disabled."
    BAD_URL = "bad_url", "Not sent: the URL is not an http:// or https:// URL."
    UNRESOLVED = "unresolved", "Not sent: the URL's host does not resolve."
    PRIVATE_ADDRESS = "private_address", "Not sent: the URL's host resolves to a private or local address."
    TIMEOUT = "timeout", "The endpoint did not answer in time."
    CONNECTION = "connection", "Could not connect to the endpoint."
    HTTP_STATUS = "http_status", "The endpoint answered with a status outside 2xx."


class WebhookDelivery(models.Model):
    """One message to one endpoint, with its attempts so far. Its webhook-id stays the same across
    retries and redeliveries, so that a receiver can drop a message it has already handled."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    message_id = models.CharField(max_length=64)
    event = models.CharField(max_length=40, choices=Event.choices)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values), name="webhook_delivery_status_valid"),
        ]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_endpoint"),
            # Deliveries still to make, for the sweep that re-enqueues those a lost queue forgot.
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due", condition=Q(status="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"

    @property
    def failure_sentence(self) -> str:
        """The last failure, as its owner reads it ("" when none): a sentence per code, never raw text."""
        return failure_sentence(self.last_error, self.response_status)


def failure_sentence(code: str, response_status: int | None = None) -> str:
    if not code:
        return ""
    if code == DeliveryFailure.HTTP_STATUS and response_status:
        return f"The endpoint answered HTTP {response_status}."
    try:
        return DeliveryFailure(code).label
    except ValueError:
        return "The attempt failed."  # a row from before reason codes: its text is not shown
