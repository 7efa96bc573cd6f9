from django.conf import settings
from django.db import models
from django.db.models import Q

from campaigns.models.batch import BatchJob
from campaigns.models.campaign import Campaign
from campaigns.models.post import Post
from shared.constraints import choices_check


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
        constraints = [choices_check("verb", ActivityVerb)]
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
