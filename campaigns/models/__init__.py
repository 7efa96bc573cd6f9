"""The campaigns domain: briefs, batches, posts, and their review. One module per entity."""

from campaigns.models.batch import ACTIVE_BATCH_STATUSES, BatchJob, BatchMode, BatchStatus
from campaigns.models.campaign import (
    BRIEF_FIELDS,
    DEFAULT_BRAND_COLOR,
    MAX_BATCH_SIZE,
    PLATFORM_VALUES,
    Campaign,
    CampaignQuerySet,
    validate_platform_list,
)
from campaigns.models.post import GenerationStatus, PendingWork, Post, PostQuerySet, ReviewStatus, post_image_path
from campaigns.models.review import Activity, ActivityVerb, Comment

__all__ = [
    "ACTIVE_BATCH_STATUSES",
    "BRIEF_FIELDS",
    "DEFAULT_BRAND_COLOR",
    "MAX_BATCH_SIZE",
    "PLATFORM_VALUES",
    "Activity",
    "ActivityVerb",
    "BatchJob",
    "BatchMode",
    "BatchStatus",
    "Campaign",
    "CampaignQuerySet",
    "Comment",
    "GenerationStatus",
    "PendingWork",
    "Post",
    "PostQuerySet",
    "ReviewStatus",
    "post_image_path",
    "validate_platform_list",
]
