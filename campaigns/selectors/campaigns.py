"""Campaigns a person may see: lists, one by id or name."""

from django.contrib.auth.models import User
from django.db.models import (
    Count,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)

from campaigns.models import BatchJob, Campaign, GenerationStatus
from workspaces.models import Workspace

CAMPAIGN_SORTS = {
    "newest": "-created_at",
    "oldest": "created_at",
    "name": "name",
    "-name": "-name",
    "updated": "-updated_at",
}


def visible_campaigns(user: User, workspace: Workspace | None = None) -> QuerySet[Campaign]:
    """Campaigns of the workspaces `user` belongs to; only `workspace`'s when given (none if not a member)."""
    campaigns = Campaign.objects.visible_to(user)
    return campaigns.filter(workspace=workspace) if workspace is not None else campaigns


def campaign_list(
    *, user: User, workspace: Workspace | None = None, search: str = "", sort: str = "newest"
) -> QuerySet[Campaign]:
    """The campaigns `user` sees (in `workspace` if given) with post counts by status and the last batch's state.

    One query: counts are conditional aggregates, the last batch comes from subqueries.
    """
    last_batch = BatchJob.objects.filter(campaign=OuterRef("pk")).order_by("-created_at")
    # Canceled posts were never written: they are not posts, so no count includes them.
    campaigns = visible_campaigns(user, workspace).annotate(
        posts_total=Count("posts", filter=~Q(posts__status=GenerationStatus.CANCELED)),
        posts_ready=Count("posts", filter=Q(posts__status=GenerationStatus.SUCCEEDED)),
        posts_failed=Count("posts", filter=Q(posts__status=GenerationStatus.FAILED)),
        posts_in_progress=Count(
            "posts", filter=Q(posts__status__in=[GenerationStatus.PENDING, GenerationStatus.GENERATING])
        ),
        posts_approved=Count("posts", filter=Q(posts__review_status="approved")),
        last_batch_id=Subquery(last_batch.values("pk")[:1]),
        last_batch_status=Subquery(last_batch.values("status")[:1]),
    )
    if search:
        campaigns = campaigns.filter(Q(name__icontains=search) | Q(brief__icontains=search))
    return campaigns.order_by(CAMPAIGN_SORTS.get(sort, "-created_at"), "-pk")


def campaign_by_reference(reference: str) -> Campaign:
    """A campaign by id, or by exact name when that name is unique across workspaces (for commands).

    Raises Campaign.DoesNotExist or Campaign.MultipleObjectsReturned with a message fit to print.
    """
    reference = reference.strip()
    if reference.isdigit():
        campaign = Campaign.objects.filter(pk=int(reference)).first()
        if campaign:
            return campaign
    matches = list(Campaign.objects.filter(name=reference)[:2])
    if not matches:
        raise Campaign.DoesNotExist(f"no campaign with id or name {reference!r}")
    if len(matches) > 1:
        raise Campaign.MultipleObjectsReturned(f"several campaigns are named {reference!r}; use the id instead")
    return matches[0]


def campaign_for(*, user: User, pk: int) -> Campaign:
    """A campaign of one of the user's workspaces, or Campaign.DoesNotExist (a view turns that into 404).

    campaign_for, batch_for and post_for annotate `viewer_role`, the user's role in the workspace,
    from the join that scopes them: pages show the buttons of that role without another query.
    """
    return (
        visible_campaigns(user)
        .select_related("workspace")
        .annotate(viewer_role=F("workspace__memberships__role"))
        .get(pk=pk)
    )
