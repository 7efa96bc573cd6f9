"""The generation queue in RQ: chunk jobs put on it, and what RQ knows of them.

Used by generation.dispatch (work a person asked for) and generation.recovery (work found lost).
"""

import logging
import math
import secrets

import django_rq
import redis
from django.db import transaction
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.queue import Queue

from generation.config import EngineConfig
from generation.domain_port import BatchJob

log = logging.getLogger(__name__)

QUEUE_NAME = "generation"
# RQ entry point of a chunk job (a string, so that enqueuing needs none of the engine's imports).
RUN_CHUNK = "generation.jobs.run_chunk"
# BatchJob.rq_job_ids keeps this many of the latest ids, for staff to find the jobs.
REMEMBERED_JOB_IDS = 50


def generation_queue() -> Queue:
    # commit_mode="auto": callers already enqueue from transaction.on_commit.
    return django_rq.get_queue(QUEUE_NAME, commit_mode="auto")


def ping() -> None:
    """Raise redis' ConnectionError/TimeoutError unless the queue's Redis answers (before writing work for it)."""
    generation_queue().connection.ping()


def chunk_count(count: int, *, config: EngineConfig) -> int:
    """How many chunk jobs a batch of `count` posts gets: enough for every worker that can help."""
    per_worker = max(config.concurrency, 1)
    return max(1, min(math.ceil(count / per_worker), config.max_chunks))


def enqueue_chunks(batch_id: int | None, count: int, *, config: EngineConfig, reason: str = "start") -> list[str]:
    """Enqueue the chunk jobs that will generate `count` pending posts of a batch.

    A chunk job is one worker's turn at the shared pool of pending posts (see jobs.run_chunk),
    so enqueuing more than needed is harmless: the extra jobs find nothing and end at once.
    `batch_id` None stands for work outside any batch (single-post regenerations).
    """
    queue = generation_queue()
    timeout = int(config.chunk_seconds + config.post_deadline + 120)
    nonce = secrets.token_hex(3)
    label = f"batch-{batch_id}" if batch_id else "posts"
    job_ids = []
    for index in range(chunk_count(count, config=config)):
        job = queue.enqueue_call(
            RUN_CHUNK,
            kwargs={"batch_id": batch_id, "chunk": index},
            job_id=f"{label}-{reason}-{nonce}-{index}",
            description=f"Generate posts for {label.replace('-', ' ')} (chunk {index + 1}, {reason})",
            timeout=timeout,
            result_ttl=24 * 3600,
            failure_ttl=7 * 24 * 3600,
        )
        job_ids.append(job.id)
    if batch_id:
        remember_job_ids(batch_id, job_ids)
    log.info("enqueued %d chunk jobs", len(job_ids), extra={"batch_id": batch_id, "reason": reason})
    return job_ids


def remember_job_ids(batch_id: int, job_ids: list[str]) -> None:
    """Append to BatchJob.rq_job_ids, keeping the last REMEMBERED_JOB_IDS, so staff can find the jobs."""
    # Under the row's lock: recovery and a chunk's continuation may enqueue for one batch at the same time,
    # and two plain read-modify-writes would keep only one side's ids.
    with transaction.atomic():
        batch = BatchJob.objects.select_for_update().filter(pk=batch_id).only("rq_job_ids").first()
        if batch is None:
            return
        combined = (list(batch.rq_job_ids or []) + job_ids)[-REMEMBERED_JOB_IDS:]
        BatchJob.objects.filter(pk=batch_id).update(rq_job_ids=combined)


def job_statuses(job_ids: list[str]) -> list[dict] | None:
    """[{id, status, worker}] for chunk jobs as RQ knows them, in one round trip.

    A job RQ has forgotten (results are kept a day, failures a week) is "expired"; the
    answer is None when Redis does not answer.
    """
    if not job_ids:
        return []
    try:
        jobs = Job.fetch_many(list(job_ids), connection=generation_queue().connection)
    except (redis.RedisError, NoSuchJobError):
        return None
    statuses = []
    for job_id, job in zip(job_ids, jobs, strict=True):
        status = job.get_status(refresh=False) if job else "expired"
        worker = (job.worker_name if job else None) or None
        statuses.append({"id": job_id, "status": str(getattr(status, "value", status)), "worker": worker})
    return statuses


def queued_job_count() -> int:
    return generation_queue().count
