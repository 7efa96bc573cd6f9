"""Turning command-line arguments into rows, with the one-line errors every command prints."""

from django.core.management.base import CommandError

from campaigns.models import BatchJob, Campaign
from campaigns.selectors import campaign_by_reference


def campaign_argument(reference: str) -> Campaign:
    """CAMPAIGN: an id, or an exact name that only one campaign has."""
    try:
        return campaign_by_reference(reference)
    except (Campaign.DoesNotExist, Campaign.MultipleObjectsReturned) as exc:
        raise CommandError(str(exc)) from None


def batch_argument(reference: str) -> BatchJob:
    """BATCH: a batch id, with or without the leading '#' the pages and tables show."""
    number = reference.strip().lstrip("#")
    if not number.isdigit():
        raise CommandError(f"a batch is given by its id (a number), not {reference!r}")
    batch = BatchJob.objects.select_related("campaign").filter(pk=int(number)).first()
    if batch is None:
        raise CommandError(f"no batch with id {number}")
    return batch
