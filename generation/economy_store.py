"""The database side of economy batches: their ProviderBatch rows, and their posts' results.

Every function is one short transaction and safe to repeat. The invariants are the engine's
(generation.store): an economy batch's posts are leased to the batch (economy_lease_owner) while
the provider works on them, a result is written only while that lease is held (so a line read
twice is written once), and the batch's counters move with F() in the same transaction as its
posts' final states. A poller works on a ProviderBatch row only under the row's own lease.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from generation.claims import load_briefs
from generation.domain_port import BatchJob, BatchStatus, GenerationStatus, PendingWork, Post
from generation.images import delete_stored_images
from generation.models import ECONOMY_LEASE, BatchPhase, ProviderBatch, economy_lease_owner
from generation.providers.base import Brief
from generation.store import finalize_batch
from shared.failure_reasons import FailureReason

# A phase's lines that the provider leaves undone (its batch expired) go again in a follow-up
# batch; after this many rounds of a phase, the posts still undone fail.
MAX_ROUNDS = 3


class LeaseLost(Exception):
    """Another poller took the row (ours had expired): stop working on it."""


@dataclass(frozen=True)
class LinePost:
    """A post as its line in an input file needs it."""

    post_id: int
    campaign_id: int
    platform: str
    sequence: int
    caption: str
    headline: str
    image_prompt: str


@dataclass
class LineResult:
    """What one output or error line said for its post."""

    post_id: int
    succeeded: bool
    error: str = ""  # the provider's words (redacted), for staff
    failure_reason: str = ""  # a FailureReason, for metrics and the marketer's sentence
    caption: str = ""
    hashtags: list[str] = field(default_factory=list)
    headline: str = ""
    image_prompt: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    image_name: str = ""
    thumbnail_name: str = ""
    images: int = 0
    cost_usd: Decimal = Decimal("0")


def claim_due_row(*, owner: str, lease_seconds: float) -> ProviderBatch | None:
    """Take the unfinished row that has waited longest past its next poll, under a lease for `owner`."""
    now = timezone.now()
    with transaction.atomic():
        row = (
            ProviderBatch.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("batch")
            .filter(done=False, next_poll_at__lte=now)
            .filter(Q(poll_owner="") | Q(poll_expires_at__lt=now))
            .order_by("next_poll_at", "id")
            .first()
        )
        if row is None:
            return None
        row.poll_owner, row.poll_expires_at = owner, now + timedelta(seconds=lease_seconds)
        ProviderBatch.objects.filter(pk=row.pk).update(poll_owner=row.poll_owner, poll_expires_at=row.poll_expires_at)
    return row


def save_row(row: ProviderBatch, *, lease_seconds: float, **fields: object) -> None:
    """Write `fields` of a row we hold (renewing our lease), and the batch's progress line with them."""
    fields["poll_expires_at"] = timezone.now() + timedelta(seconds=lease_seconds)
    with transaction.atomic():
        updated = ProviderBatch.objects.filter(pk=row.pk, poll_owner=row.poll_owner, done=False).update(
            **fields, updated_at=timezone.now()
        )
        if not updated:
            raise LeaseLost(f"provider batch row {row.pk} is no longer ours")
        for name, value in fields.items():
            setattr(row, name, value)
        _show_progress(row)


def release_row(row: ProviderBatch, *, next_poll_at: datetime) -> None:
    ProviderBatch.objects.filter(pk=row.pk, poll_owner=row.poll_owner).update(
        poll_owner="", poll_expires_at=None, next_poll_at=next_poll_at
    )


def _show_progress(row: ProviderBatch) -> None:
    """Copy the row's state to its batch, where the progress panel reads it."""
    count = ProviderBatch.objects.filter(batch_id=row.batch_id).exclude(provider_batch_id="").count()
    BatchJob.objects.filter(pk=row.batch_id).update(
        provider_progress={
            "phase": row.phase,
            "round": row.round,
            "status": row.status,
            "total": row.total_count,
            "completed": row.completed_count,
            "failed": row.failed_count,
            "provider_batches": count,
        }
    )


def mark_submitted(row: ProviderBatch) -> None:
    """The provider has the row's batch: the BatchJob runs, and its posts' leases outlast the provider's window."""
    now = timezone.now()
    BatchJob.objects.filter(pk=row.batch_id, status=BatchStatus.QUEUED).update(
        status=BatchStatus.RUNNING, started_at=now
    )
    held_posts(row.batch_id).filter(id__in=row.post_ids).update(lease_expires_at=now + ECONOMY_LEASE)


def held_posts(batch_id: int) -> QuerySet[Post]:
    """The batch's posts that the provider still has to work on."""
    return Post.objects.filter(
        batch_id=batch_id, status=GenerationStatus.GENERATING, lease_owner=economy_lease_owner(batch_id)
    )


def line_posts(row: ProviderBatch) -> tuple[list[LinePost], dict[int, Brief]]:
    """The row's posts still held, in position order, with their campaigns' briefs."""
    posts = [
        LinePost(
            post_id=post["id"],
            campaign_id=post["campaign_id"],
            platform=post["platform"],
            sequence=post["sequence"],
            caption=post["caption"],
            headline=post["headline"],
            image_prompt=post["image_prompt"],
        )
        for post in held_posts(row.batch_id)
        .filter(id__in=row.post_ids)
        .order_by("sequence")
        .values("id", "campaign_id", "platform", "sequence", "caption", "headline", "image_prompt")
    ]
    return posts, load_briefs({post.campaign_id for post in posts})


def write_results(batch_id: int, phase: str, results: list[LineResult], *, images_live: bool = False) -> int:
    """Write the posts' results of a phase, and move the batch's counters, in one transaction.

    A caption written by the captions phase leaves its post with the provider for the images
    phase, or hands it to the normal path (pending) when images go live. A result whose post is
    no longer held (canceled, or its phase written already) is dropped. Returns how many were written.
    """
    if not results:
        return 0
    now = timezone.now()
    written = 0
    counters: dict[str, int] = {"succeeded_count": 0, "failed_count": 0, "prompt_tokens": 0}
    counters.update(completion_tokens=0, image_count=0)
    cost = Decimal("0")
    dropped_images: list[str] = []
    with transaction.atomic():
        for result in results:
            posts = held_posts(batch_id).filter(pk=result.post_id)
            posts = posts.filter(caption="") if phase == BatchPhase.CAPTIONS else posts.filter(image="")
            fields: dict[str, object] = {
                "updated_at": now,
                "prompt_tokens": F("prompt_tokens") + result.prompt_tokens,
                "completion_tokens": F("completion_tokens") + result.completion_tokens,
                "cost_usd": F("cost_usd") + result.cost_usd,
            }
            finished = {"lease_owner": "", "lease_expires_at": None, "pending_work": PendingWork.BATCH}
            if not result.succeeded:
                fields.update(
                    finished,
                    status=GenerationStatus.FAILED,
                    error_message=result.error,
                    failure_reason=result.failure_reason,
                )
            elif phase == BatchPhase.CAPTIONS:
                fields.update(
                    caption=result.caption,
                    hashtags=result.hashtags,
                    headline=result.headline,
                    image_prompt=result.image_prompt,
                )
                if images_live:
                    fields.update(finished, status=GenerationStatus.PENDING)
            else:
                fields.update(
                    finished,
                    status=GenerationStatus.SUCCEEDED,
                    error_message="",
                    failure_reason="",
                    generated_at=now,
                    image=result.image_name,
                    thumbnail=result.thumbnail_name,
                )
            if not posts.update(**fields):
                dropped_images += [name for name in (result.image_name, result.thumbnail_name) if name]
                continue
            written += 1
            if not result.succeeded:
                counters["failed_count"] += 1
            elif phase == BatchPhase.IMAGES:
                counters["succeeded_count"] += 1
            counters["prompt_tokens"] += result.prompt_tokens
            counters["completion_tokens"] += result.completion_tokens
            counters["image_count"] += result.images
            cost += result.cost_usd
        changes = {name: F(name) + amount for name, amount in counters.items() if amount}
        if cost:
            changes["cost_usd"] = F("cost_usd") + cost
        if changes:
            BatchJob.objects.filter(pk=batch_id).update(**changes)
        finalize_batch(batch_id)
        if dropped_images:
            transaction.on_commit(lambda: delete_stored_images(dropped_images))
    return written


def fail_posts(batch_id: int, post_ids: list[int], reason: str, code: str) -> int:
    """Fail the batch's held posts among `post_ids` with `reason` and its FailureReason `code`."""
    failures = [LineResult(post_id=post_id, succeeded=False, error=reason, failure_reason=code) for post_id in post_ids]
    return write_results(batch_id, BatchPhase.IMAGES, failures)


def release_to_normal_path(batch_id: int, post_ids: list[int]) -> int:
    """Hand the batch's held posts among `post_ids` to the chunk jobs (pending); how many.

    A post that has its caption gets only its image there (claims.PostTask.needs_caption).
    """
    return (
        held_posts(batch_id)
        .filter(id__in=post_ids)
        .update(status=GenerationStatus.PENDING, lease_owner="", lease_expires_at=None, updated_at=timezone.now())
    )


@dataclass(frozen=True)
class NextStep:
    """What finishing a row led to: a new row to submit, posts handed to the normal path, or neither."""

    row: ProviderBatch | None = None
    released: int = 0
    failed: int = 0


def finish_row(row: ProviderBatch, *, batch_images: bool) -> NextStep:
    """Mark a row done (its results are written) and set up what comes next, in one transaction.

    The posts still held decide it: a phase's posts left undone (expired lines) go again in the
    phase's next round, up to MAX_ROUNDS; once captions are all in, images follow, through the
    provider or, with batch_images off, through the normal path (pending posts for the chunk jobs).
    """
    with transaction.atomic():
        updated = ProviderBatch.objects.filter(pk=row.pk, poll_owner=row.poll_owner, done=False).update(
            done=True, poll_owner="", poll_expires_at=None, updated_at=timezone.now()
        )
        if not updated:
            raise LeaseLost(f"provider batch row {row.pk} is no longer ours")
        row.done = True
        batch = BatchJob.objects.select_for_update().get(pk=row.batch_id)
        if batch.status not in (BatchStatus.QUEUED, BatchStatus.RUNNING):
            return NextStep()
        held = held_posts(batch.pk)
        phase, round_ = row.phase, row.round + 1
        phase_undone = Q(caption="") if phase == BatchPhase.CAPTIONS else Q(image="")
        undone = list(held.filter(phase_undone).values_list("id", flat=True))
        if not undone and phase == BatchPhase.CAPTIONS:
            phase, round_ = BatchPhase.IMAGES, 0
            undone = list(held.filter(image="").values_list("id", flat=True))
            if undone and not batch_images:
                return NextStep(released=release_to_normal_path(batch.pk, undone))
        if not undone:
            return NextStep()
        if round_ >= MAX_ROUNDS:
            reason = f"the provider's batch expired {MAX_ROUNDS} times before doing this post"
            return NextStep(failed=fail_posts(batch.pk, undone, reason, FailureReason.TIMEOUT))
        next_row = ProviderBatch.objects.create(
            batch=batch, phase=phase, round=round_, post_ids=sorted(undone), submission_key=uuid.uuid4().hex
        )
        _show_progress(next_row)
        return NextStep(row=next_row)
