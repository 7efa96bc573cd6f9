"""Batches and their progress as the pages and the admin show them."""

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import (
    Count,
    F,
    Max,
)

from campaigns.models import BatchJob, Campaign, GenerationStatus, Post
from shared.failure_reasons import failure_label


def batch_for(*, user: User, pk: int) -> BatchJob:
    return (
        BatchJob.objects.select_related("campaign__workspace")
        .filter(pk=pk, campaign__workspace__memberships__user=user)
        .annotate(viewer_role=F("campaign__workspace__memberships__role"))
        .get()
    )


PROGRESS_FIELDS = (
    "id",
    "campaign_id",
    "requested_count",
    "status",
    "mode",
    "provider_progress",
    "succeeded_count",
    "failed_count",
    "canceled_count",
    "cost_usd",
    "error_summary",
    "created_at",
    "started_at",
    "finished_at",
)


def batch_progress(*, user: User, pk: int) -> BatchJob:
    """The one row the live progress panel reads, if `user` is a member of its campaign's workspace.

    One indexed lookup joined to the campaign and the membership, never a count of posts. The
    fields are PROGRESS_FIELDS, and `viewer_role`, the user's role from the same join (the panel
    shows Cancel and Retry by it); the others load on first use.
    """
    return (
        BatchJob.objects.only(*PROGRESS_FIELDS)
        .filter(pk=pk, campaign__workspace__memberships__user=user)
        .annotate(viewer_role=F("campaign__workspace__memberships__role"))
        .get()
    )


def batch_progress_for_staff(*, user: User | AnonymousUser, pk: int) -> BatchJob:
    """The progress panel's row of any workspace's batch, for staff (the admin's batch page)."""
    if not (user.is_active and user.is_staff):
        raise BatchJob.DoesNotExist("Only staff see other workspaces' batches.")
    return BatchJob.objects.only(*PROGRESS_FIELDS).get(pk=pk)


@dataclass(frozen=True)
class FailureGroup:
    """A batch's failed posts that share a reason code; `example` is one provider message (staff only)."""

    code: str  # a FailureReason, or "" for an internal error
    label: str
    count: int
    example: str


def batch_failure_reasons(batch: BatchJob) -> list[FailureGroup]:
    """A batch's failed posts grouped by reason code, most frequent first: one grouped query on (batch, status)."""
    rows = (
        Post.objects.filter(batch=batch, status=GenerationStatus.FAILED)
        .values_list("failure_reason")
        .annotate(n=Count("id"), example=Max("error_message"))
        .order_by("-n", "failure_reason")
    )
    return [FailureGroup(code, failure_label(code), n, example or "") for code, n, example in rows]


def campaign_batches(campaign: Campaign, *, limit: int = 20) -> list[BatchJob]:
    return list(campaign.batches.order_by("-created_at")[:limit])


def active_batches(campaign: Campaign) -> list[BatchJob]:
    return list(campaign.batches.filter(status__in=["queued", "running"]).order_by("-created_at"))
