"""Writes of exports: a ZIP export recorded and queued for a worker."""

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from campaigns.models import (
    Campaign,
)
from exports import jobs
from exports.models import Export
from exports.writers import allow_export


def export_zip_start(
    *,
    campaign: Campaign,
    actor: User | None,
    requested_by: User | None = None,
    filters: dict[str, Any] | None = None,
    download_name: str,
) -> Export:
    """Record a ZIP export of the campaign's posts (filtered as on screen) and queue it for a worker.

    `actor` is checked like every service's (None: staff in the admin), and counted against their
    export limit before anything is queued; `requested_by` is recorded.
    """
    allow_export(campaign=campaign, actor=actor)
    requested_by = requested_by or actor
    filters = filters or {}
    with transaction.atomic():
        export = Export.objects.create(
            campaign=campaign, requested_by=requested_by, filters=filters, download_name=download_name
        )
        transaction.on_commit(lambda: jobs.enqueue_export(export.pk), robust=True)
    return export
