"""The engine's claim on posts: which pending posts a worker takes (fairly across batches), under
a lease taken by one conditional UPDATE (invariant 2), renewed while it works and released when it
stops; and the briefs the posts are written from. Called from the runner's one database thread."""

import heapq
import logging
import random
from collections import Counter, deque
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F, QuerySet
from django.utils import timezone

from generation.domain_port import (
    ACTIVE_BATCH_STATUSES,
    BRIEF_FIELDS,
    BatchJob,
    BatchStatus,
    Campaign,
    GenerationStatus,
    PendingWork,
    Post,
)
from generation.providers.base import Brief

log = logging.getLogger(__name__)

_CLAIM_FIELDS = (
    "id",
    "batch_id",
    "campaign_id",
    "platform",
    "sequence",
    "pending_work",
    "attempts",
    "caption",
    "hashtags",
    "headline",
    "image_prompt",
    "image",
    "thumbnail",
    "batch__cost_cap_usd",
    "batch__cost_usd",
)


@dataclass(frozen=True)
class PostTask:
    """A claimed post: everything the runner needs, detached from the ORM."""

    post_id: int
    batch_id: int | None
    campaign_id: int
    platform: str
    sequence: int
    pending_work: str
    attempt: int
    caption: str
    hashtags: list[str]
    headline: str
    image_prompt: str
    image_name: str
    thumbnail_name: str
    near_cost_cap: bool = False  # its batch is close to its cost cap: write its result without delay

    @property
    def needs_caption(self) -> bool:
        # A batch post that has its caption already (written by an economy batch, whose images go
        # through the normal path; or kept when only its image failed) needs only its image.
        if self.pending_work == PendingWork.BATCH:
            return not self.caption
        return self.pending_work in (PendingWork.CAPTION, PendingWork.BOTH)

    @property
    def needs_image(self) -> bool:
        return self.pending_work in (PendingWork.BATCH, PendingWork.IMAGE, PendingWork.BOTH)

    @property
    def counts_toward_batch(self) -> bool:
        return self.pending_work == PendingWork.BATCH and self.batch_id is not None


def claim_posts(
    *,
    owner: str,
    limit: int,
    lease_seconds: float,
    batch_id: int | None = None,
    cap_margin_usd: Decimal = Decimal("0"),
    adopt_unless: Collection[int] | None = None,
) -> list[PostTask]:
    """Take up to `limit` posts under a lease for `owner`.

    `adopt_unless`, after a database round whose answer was lost (the connection died around its
    COMMIT): the posts this owner holds. Posts leased to `owner` but not among them were claimed by
    that round and committed; they are taken back first, as they are, not counted as a new attempt
    and not left to wait out their lease.

    A post of a batch whose cost is within `cap_margin_usd` of its cap (what the posts in flight
    and not yet written could spend meanwhile) is marked near_cost_cap: the runner then writes
    it at once, so the cap stops the batch in time.

    Order: regenerations asked for by a person first, then posts whose lease expired (their
    worker died), then pending batch posts shared fairly between workspaces and, within one,
    by position so that its concurrent batches interleave (_pending_batch_posts).
    SKIP LOCKED lets any number of workers claim at once without waiting on each other.
    """
    if limit <= 0:
        return []
    now = timezone.now()
    posts = Post.objects.all() if batch_id is None else Post.objects.filter(batch_id=batch_id)
    sources = (
        posts.filter(status=GenerationStatus.PENDING).exclude(pending_work=PendingWork.BATCH).order_by("updated_at"),
        posts.filter(status=GenerationStatus.GENERATING, lease_expires_at__lt=now).order_by("lease_expires_at"),
    )
    with transaction.atomic():
        adopted: list[int] = []
        if adopt_unless is not None:
            mine = Post.objects.filter(lease_owner=owner, status=GenerationStatus.GENERATING)
            mine = mine.exclude(id__in=list(adopt_unless)).select_for_update(skip_locked=True)
            adopted = list(mine.values_list("id", flat=True)[:limit])
            if adopted:
                Post.objects.filter(id__in=adopted).update(lease_expires_at=now + timedelta(seconds=lease_seconds))
        ids: list[int] = []
        limit -= len(adopted)
        for source in sources:
            if len(ids) >= limit:
                break
            ids += source.select_for_update(skip_locked=True).values_list("id", flat=True)[: limit - len(ids)]
        if len(ids) < limit:
            ids += _pending_batch_posts(posts, limit - len(ids), one_batch=batch_id is not None)
        if not ids and not adopted:
            return []
        Post.objects.filter(id__in=ids).update(
            status=GenerationStatus.GENERATING,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            attempts=F("attempts") + 1,
            updated_at=now,
        )
        ids += adopted
        rows = list(Post.objects.filter(id__in=ids).order_by("sequence").values(*_CLAIM_FIELDS))
        batch_ids = {row["batch_id"] for row in rows if row["batch_id"]}
        if batch_ids:
            BatchJob.objects.filter(id__in=batch_ids, status=BatchStatus.QUEUED).update(
                status=BatchStatus.RUNNING, started_at=now
            )
    return [
        PostTask(
            post_id=row["id"],
            batch_id=row["batch_id"],
            campaign_id=row["campaign_id"],
            platform=row["platform"],
            sequence=row["sequence"],
            pending_work=row["pending_work"],
            attempt=row["attempts"],
            caption=row["caption"],
            hashtags=list(row["hashtags"] or []),
            headline=row["headline"],
            image_prompt=row["image_prompt"],
            image_name=row["image"] or "",
            thumbnail_name=row["thumbnail"] or "",
            near_cost_cap=row["batch__cost_cap_usd"] is not None
            and row["batch__cost_usd"] + cap_margin_usd >= row["batch__cost_cap_usd"],
        )
        for row in rows
    ]


def _pending_batch_posts(posts: QuerySet[Post], limit: int, *, one_batch: bool) -> list[int]:
    """Up to `limit` pending batch posts, locked (SKIP LOCKED), shared fairly between workspaces.

    Each post goes to the workspace with the fewest posts in flight, counting those picked so far
    (ties in turn at random), so a workspace running ten batches gets no more of the workers than
    one running a single batch; within a workspace, batches take turns by position. One workspace
    with work (the usual case, and any one batch's run) costs one query, as before.
    """
    by_position = (
        posts.filter(status=GenerationStatus.PENDING, pending_work=PendingWork.BATCH)
        .order_by("sequence", "batch_id")
        .select_for_update(skip_locked=True, of=("self",))
    )
    workspaces = (
        []
        if one_batch
        else list(
            BatchJob.objects.filter(status__in=ACTIVE_BATCH_STATUSES)
            .order_by()
            .values_list("campaign__workspace_id", flat=True)
            .distinct()
        )
    )
    if len(workspaces) <= 1:
        return list(by_position.values_list("id", flat=True)[:limit])
    in_flight = Counter(
        dict(
            Post.objects.filter(status=GenerationStatus.GENERATING, pending_work=PendingWork.BATCH)
            .order_by()
            .values_list("campaign__workspace_id")
            .annotate(n=Count("id"))
            .values_list("campaign__workspace_id", "n")
        )
    )
    random.shuffle(workspaces)
    # Only the `limit` least served can get a post this round.
    workspaces = sorted(workspaces, key=lambda workspace: in_flight[workspace])[:limit]
    waiting = {
        workspace: deque(by_position.filter(campaign__workspace_id=workspace).values_list("id", flat=True)[:limit])
        for workspace in workspaces
    }
    turns = [(in_flight[workspace], order, workspace) for order, workspace in enumerate(workspaces)]
    heapq.heapify(turns)
    picked: list[int] = []
    while turns and len(picked) < limit:
        load, order, workspace = heapq.heappop(turns)
        if waiting[workspace]:
            picked.append(waiting[workspace].popleft())
            heapq.heappush(turns, (load + 1, order, workspace))
    if len(picked) < limit:  # the workspaces asked had too little left: any others' posts
        picked += by_position.exclude(id__in=picked).values_list("id", flat=True)[: limit - len(picked)]
    return picked


def load_briefs(campaign_ids: set[int]) -> dict[int, Brief]:
    campaigns = Campaign.objects.filter(id__in=campaign_ids).only("id", *BRIEF_FIELDS)
    return {campaign.id: brief_of(campaign) for campaign in campaigns}


def brief_of(campaign: Campaign) -> Brief:
    """What the provider is told of a campaign, saved or not (the form's preview: campaign_id 0)."""
    fields = {name: getattr(campaign, name) for name in BRIEF_FIELDS}
    fields["keywords"] = tuple(fields["keywords"] or ())
    fields["hashtags"] = tuple(fields["hashtags"] or ())
    return Brief(campaign_id=campaign.pk or 0, **fields)


def renew_leases(*, owner: str, lease_seconds: float, post_ids: list[int]) -> int:
    """Extend `owner`'s leases on the posts it is working on; a live worker's posts are never taken from it.

    Only the posts the caller knows it holds: a claim that committed but whose reply was
    lost (a connection cut at that moment) left posts under `owner` that nobody works on,
    and they must expire to be claimed again.
    """
    if not post_ids:
        return 0
    return Post.objects.filter(id__in=post_ids, status=GenerationStatus.GENERATING, lease_owner=owner).update(
        lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds)
    )


def release_leases(*, owner: str) -> int:
    """Give back posts `owner` holds but will not finish (a stop request): they become pending."""
    return Post.objects.filter(status=GenerationStatus.GENERATING, lease_owner=owner).update(
        status=GenerationStatus.PENDING, lease_owner="", lease_expires_at=None, updated_at=timezone.now()
    )
