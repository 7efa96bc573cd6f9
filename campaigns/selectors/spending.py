"""What a workspace's batches cost: this month's spend, running batches, usage."""

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from django.db.models import (
    Count,
    Sum,
)
from django.utils import timezone

from campaigns.models import ACTIVE_BATCH_STATUSES, BatchJob
from workspaces.models import Workspace


def workspace_running_batches(workspace: Workspace) -> list[BatchJob]:
    """The workspace's batches still generating: what they may yet spend counts against its budget."""
    return list(BatchJob.objects.filter(campaign__workspace=workspace, status__in=ACTIVE_BATCH_STATUSES))


@dataclass
class Usage:
    month: date  # the 1st of the month counted
    spent_usd: Decimal
    batches: int
    posts: int


def usage_this_month(workspace: Workspace) -> Usage:
    """What the workspace's batches started this month cost and asked for (one aggregate query)."""
    first_day = timezone.localdate().replace(day=1)
    since = datetime.combine(first_day, time.min, tzinfo=timezone.get_current_timezone())
    totals = BatchJob.objects.filter(campaign__workspace=workspace, created_at__gte=since).aggregate(
        spent=Sum("cost_usd"), batches=Count("id"), posts=Sum("requested_count")
    )
    return Usage(
        month=first_day,
        spent_usd=totals["spent"] or Decimal("0"),
        batches=totals["batches"],
        posts=totals["posts"] or 0,
    )
