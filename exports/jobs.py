"""ZIP exports as RQ jobs: a worker writes the archive to media storage, the page shows progress.

A ZIP of 1,000 images took 3-8 s inside a web worker, and a few at once slowed every page; on
the "default" queue a worker does it instead (`rqworker generation default` serves both queues).
The export's row is the truth: the job moves it queued -> running -> succeeded (with its file
and the time its link expires) or failed (with the reason), and reports progress on the way.
Ready, it emits export.ready for the export's workspace, wherever the export was started.
"""

import logging
import secrets
import tempfile
import time
from datetime import datetime, timedelta

import django_rq
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from exports import signals
from exports.links import zip_link_for_endpoints
from exports.models import Export, ExportStatus
from exports.writers import exportable_posts, write_zip

log = logging.getLogger(__name__)

QUEUE_NAME = "default"
# Progress is written at most this often: a row update per image would be 1,000 writes.
PROGRESS_EVERY_SECONDS = 0.5
# Expired exports whose files one job removes, oldest first, before it writes its own.
SWEEP_LIMIT = 100


def enqueue_export(export_id: int) -> None:
    django_rq.get_queue(QUEUE_NAME).enqueue(
        run_export, export_id, job_id=f"export-{export_id}", job_timeout=settings.EXPORT_JOB_TIMEOUT
    )


def run_export(export_id: int) -> None:
    """The RQ job: write the export's ZIP, store it, and mark the export ready (or failed)."""
    claimed = Export.objects.filter(pk=export_id, status=ExportStatus.QUEUED).update(status=ExportStatus.RUNNING)
    if not claimed:
        return  # gone with its campaign, or already taken
    export = Export.objects.select_related("campaign").get(pk=export_id)
    sweep_expired_exports()
    posts = exportable_posts(export.campaign, export.filters)
    last_report = 0.0

    def report(done: int, total: int) -> None:
        nonlocal last_report
        if done == total or time.monotonic() - last_report >= PROGRESS_EVERY_SECONDS:
            Export.objects.filter(pk=export_id).update(done_count=done, total_count=total)
            last_report = time.monotonic()

    try:
        with tempfile.TemporaryFile() as archive:
            count = write_zip(posts, archive, on_progress=report)
            archive.seek(0)
            name = default_storage.save(
                f"exports/{export.campaign_id}/{secrets.token_hex(16)}.zip", File(archive, name="export.zip")
            )
    except Exception as exc:
        log.exception("export %s failed", export_id)
        Export.objects.filter(pk=export_id).update(
            status=ExportStatus.FAILED,
            error_message=f"The export failed ({type(exc).__name__}).",
            finished_at=timezone.now(),
        )
        return
    _mark_ready(export, name=name, count=count)


def _mark_ready(export: Export, *, name: str, count: int) -> None:
    """Mark the export ready and emit export.ready with it, once: the update is conditional on the
    run this job claimed, and the event's deliveries are written in the same transaction."""
    now = timezone.now()
    export.expires_at = now + timedelta(hours=settings.EXPORT_LINK_HOURS)
    with transaction.atomic():
        marked = Export.objects.filter(pk=export.pk, status=ExportStatus.RUNNING).update(
            status=ExportStatus.SUCCEEDED,
            file=name,
            total_count=count,
            done_count=count,
            finished_at=now,
            expires_at=export.expires_at,
        )
        if marked:
            link = zip_link_for_endpoints(export)
            signals.export_ready.send(
                sender=Export,
                workspace_id=export.campaign.workspace_id,
                campaign_id=export.campaign_id,
                export_id=str(export.pk),
                format="zip",
                url=settings.SITE_URL + link.path,
                expires_at=link.expires_at.isoformat(),
            )
    if not marked:  # its campaign was deleted meanwhile, and the export with it
        default_storage.delete(name)


def sweep_expired_exports(*, now: datetime | None = None) -> int:
    """Delete expired exports, their files once the rows are gone. Returns how many."""
    expired = list(Export.objects.filter(expires_at__lte=now or timezone.now()).order_by("expires_at")[:SWEEP_LIMIT])
    names = [export.file.name for export in expired if export.file]
    with transaction.atomic():
        Export.objects.filter(pk__in=[export.pk for export in expired]).delete()
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            log.warning("could not delete expired export file %s", name)
    return len(expired)
