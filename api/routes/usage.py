"""The workspace's usage: spend this month, its budget, and the limits that apply."""

from django.conf import settings
from django.http import HttpRequest
from ninja import Router

from api import reach as reach
from api.auth import READ
from api.problems import COMMON_ERRORS
from api.schemas import UsageOut
from campaigns import selectors
from campaigns.models import MAX_BATCH_SIZE

router = Router(tags=["usage"])


@router.get("/usage", response={200: UsageOut, **COMMON_ERRORS}, auth=READ, summary="Spend this month and limits")
def usage(request: HttpRequest) -> dict[str, object]:
    workspace = reach.workspace(request)
    spent = selectors.usage_this_month(workspace)
    return {
        "workspace": workspace.name,
        "month": f"{spent.month:%Y-%m}",
        "spent_usd": spent.spent_usd,
        "monthly_budget_usd": workspace.monthly_budget_usd,
        "batches_this_month": spent.batches,
        "posts_this_month": spent.posts,
        "max_posts_per_batch": MAX_BATCH_SIZE,
        "api_rate_limit": settings.API_RATE_LIMIT,
    }
