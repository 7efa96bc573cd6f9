"""Finding work that nobody is doing, and putting it back on the queue.

Posts are lost to the queue when a worker dies (its leases expire) or when Redis loses
its queued jobs (a restart without persistence). Their state in PostgreSQL is the truth,
so recovery only asks the database whether anything is claimable and, if the generation
queue holds no job that would pick it up, enqueues one. The clock has a worker run this
every GENERATION_RECOVERY_INTERVAL seconds (clock.tasks), and so does the recover_batches
command.
"""

import logging
from dataclasses import asdict, dataclass, field

from django.db.models import Count, Q
from django.utils import timezone

from generation import queue
from generation.config import EngineConfig
from generation.domain_port import GenerationStatus, Post

log = logging.getLogger(__name__)


def claimable_posts():
    now = timezone.now()
    return Post.objects.filter(
        Q(status=GenerationStatus.PENDING) | Q(status=GenerationStatus.GENERATING, lease_expires_at__lt=now)
    )


def has_claimable_work() -> bool:
    return claimable_posts().exists()


@dataclass
class LostWork:
    """A batch (None: single-post regenerations) with posts nobody is working on."""

    batch_id: int | None
    pending: int
    expired_leases: int
    job_ids: list[str] = field(default_factory=list)

    @property
    def posts(self) -> int:
        return self.pending + self.expired_leases


@dataclass
class RecoveryReport:
    queued_jobs: int  # jobs waiting on the generation queue when recovery looked
    lost: list[LostWork]
    enqueued: bool
    dry_run: bool = False

    @property
    def note(self) -> str:
        if not self.lost:
            return "nothing to recover: no pending posts and no expired leases"
        if self.enqueued:
            return f"enqueued chunk jobs for {len(self.lost)} batches"
        if self.dry_run:
            return f"dry run: would enqueue chunk jobs for {len(self.lost)} batches"
        return f"not enqueued: {self.queued_jobs} queued jobs will take this work (use --force to add more)"

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "queued_jobs": self.queued_jobs,
            "enqueued": self.enqueued,
            "note": self.note,
            "batches": [{**asdict(work), "posts": work.posts} for work in self.lost],
        }


def lost_work() -> list[LostWork]:
    """Every batch with claimable posts, pending and expired leases counted apart (one grouped query)."""
    rows = (
        claimable_posts()
        .values("batch_id")
        .annotate(
            pending=Count("id", filter=Q(status=GenerationStatus.PENDING)),
            expired=Count("id", filter=Q(status=GenerationStatus.GENERATING)),
        )
        .order_by("batch_id")
    )
    return [LostWork(row["batch_id"], row["pending"], row["expired"]) for row in rows]


def recover(
    *, config: EngineConfig, reason: str = "recover", force: bool = False, dry_run: bool = False
) -> RecoveryReport:
    """Enqueue chunk jobs for batches with claimable posts, unless queued jobs will take them.

    A chunk job claims from every batch (claims.claim_posts), so any job waiting on the queue
    will pick the work up; `force` enqueues anyway. Enqueuing too much is harmless (jobs that
    find nothing end at once); enqueuing too little would leave posts waiting.
    """
    queued = queue.queued_job_count()
    lost = lost_work()
    if dry_run or not lost or (queued and not force):
        return RecoveryReport(queued_jobs=queued, lost=lost, enqueued=False, dry_run=dry_run)
    # Any chunk job serves every batch, so one round never enqueues more jobs than one batch
    # may have (config.max_chunks): with many lost batches, the first ones get the jobs
    # and those jobs take the others' posts too.
    budget = config.max_chunks
    for work in lost:
        if budget <= 0:
            break
        work.job_ids = queue.enqueue_chunks(
            work.batch_id, min(work.posts, budget * config.concurrency), config=config, reason=reason
        )
        budget -= len(work.job_ids)
    log.info("re-enqueued work for %d batches", len(lost), extra={"reason": reason})
    return RecoveryReport(queued_jobs=queued, lost=lost, enqueued=True)


def enqueue_lost_work(*, config: EngineConfig, reason: str = "recover", force: bool = False) -> list[int]:
    """recover() for the clock's periodic task and for jobs: answers with the batch ids enqueued for.

    A queue with jobs waiting is left alone without asking the database, since the clock has
    this run every GENERATION_RECOVERY_INTERVAL seconds.
    """
    if not force and queue.queued_job_count():
        return []
    report = recover(config=config, reason=reason, force=True)
    return [work.batch_id for work in report.lost if report.enqueued and work.batch_id is not None]
