"""Finding work that nobody is doing, and putting it back on the queue.

Posts are lost to the queue when a worker dies (its leases expire) or when Redis loses
its queued jobs (a restart without persistence). Their state in PostgreSQL is the truth,
so recovery only asks the database whether anything is claimable and, if the generation
queue holds no job that would pick it up, enqueues one. Every idle worker runs this
every GENERATION_RECOVERY_INTERVAL seconds (generation.worker), and so does the
recover_batches command.
"""

import logging

from django.db.models import Q
from django.utils import timezone

from campaigns.models import GenerationStatus, Post
from generation import dispatch

log = logging.getLogger(__name__)


def claimable_posts():
    now = timezone.now()
    return Post.objects.filter(
        Q(status=GenerationStatus.PENDING) | Q(status=GenerationStatus.GENERATING, lease_expires_at__lt=now)
    )


def has_claimable_work() -> bool:
    return claimable_posts().exists()


def lost_batches() -> dict[int | None, int]:
    """{batch_id: claimable posts} for every batch with work nobody is doing (None: single posts)."""
    counts: dict[int | None, int] = {}
    for batch_id in claimable_posts().values_list("batch_id", flat=True)[:100_000]:
        counts[batch_id] = counts.get(batch_id, 0) + 1
    return counts


def enqueue_lost_work(*, reason: str = "recover", force: bool = False) -> list[int]:
    """Enqueue chunk jobs for batches with claimable posts, unless queued jobs will take them.

    Returns the batch ids enqueued for. Enqueuing too much is harmless (jobs that find
    nothing end at once); enqueuing too little would leave posts waiting, so when in doubt
    this enqueues.
    """
    queue = dispatch.generation_queue()
    if not force and queue.count > 0:
        return []
    batches = lost_batches()
    enqueued = []
    for batch_id, count in batches.items():
        dispatch.enqueue_batch(batch_id, count, reason=reason)
        enqueued.append(batch_id)
    if enqueued:
        log.info("re-enqueued work for %d batches", len(enqueued), extra={"reason": reason})
    return [batch_id for batch_id in enqueued if batch_id is not None]
