"""The results port: the engine's one door into the domain.

The engine sits below the domain apps and may import none of them, except through this module,
which import-linter allows by name (pyproject.toml). It names everything the engine reads of the
domain (a campaign's brief, a batch's posts) and writes into it (a post's caption and image, a
batch's counters and final status, the batch-ended event), so what the engine may touch is listed
here and nowhere else. The domain calls the engine through generation.dispatch.
"""

from campaigns.models import (
    ACTIVE_BATCH_STATUSES,
    BRIEF_FIELDS,
    BatchJob,
    BatchStatus,
    Campaign,
    GenerationStatus,
    PendingWork,
    Post,
)
from campaigns.signals import batch_ended as _batch_ended

__all__ = [
    "ACTIVE_BATCH_STATUSES",
    "BRIEF_FIELDS",
    "BatchJob",
    "BatchStatus",
    "Campaign",
    "GenerationStatus",
    "PendingWork",
    "Post",
    "batch_ended",
]


def batch_ended(batch_id: int) -> None:
    """Tell the domain a batch has its final status (inside the transaction that set it)."""
    _batch_ended.send(sender=BatchJob, batch_id=batch_id)
