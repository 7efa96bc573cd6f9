"""Writes of the campaigns domain, one module per entity. Views, admin actions, commands and the
API all call these.

Functions are named <entity>_<action>, take keyword arguments, and validate their input
themselves: they raise ValidationError with a message fit to show a user, and write
nothing when they do. The rules they check are the check_* functions beside them, which forms
call too, so a page, the admin and a command refuse the same input with the same words.

Services that act for someone take `actor`: the signed-in user, checked with
workspaces.access.require (member of the campaign's workspace, with a role that allows the
action) before anything is read for writing. actor=None is for callers that act for nobody in
particular and have checked their own rights: the admin (staff permissions), operators'
commands and the engine. It has no default, so every caller says which it is. Services that
write the activity log also take `recorded_as`: who the log names when actor is None (the staff
member in the admin); it grants nothing.

Work is enqueued on commit with robust=True: the rows in PostgreSQL are the truth, so a
queue that cannot take the work (Redis away) is logged, not raised, and the workers'
recovery enqueues it once Redis is back.
"""

from campaigns.services.batches import (
    IdempotencyConflict,
    batch_cancel,
    batch_delete,
    batch_estimate,
    batch_retry_failed,
    batch_set_cost_cap,
    batch_start,
    batch_start_once,
    check_batch_cost_cap,
    check_cost_cap,
    check_count,
    check_mode,
)
from campaigns.services.bulk import (
    BULK_ACTION_NEEDS,
    BULK_ACTIONS,
    BUSY,
    MAX_SCHEDULE_DAYS,
    MAX_TIMES_A_DAY,
    BulkResult,
    SpreadPlan,
    check_spread_plan,
    posts_bulk_apply,
)
from campaigns.services.campaigns import (
    DUPLICATED_FIELDS,
    campaign_create,
    campaign_delete,
    campaign_duplicate,
    campaign_update,
    campaigns_import,
)
from campaigns.services.comments import MAX_COMMENT, comment_create, post_comments
from campaigns.services.posts import (
    REVIEW_VERBS,
    SCHEDULE_PAST_TOLERANCE,
    check_caption,
    check_review,
    check_schedule,
    check_schedule_time,
    delete_files,
    delete_with_image_files,
    post_delete,
    post_regenerate,
    post_review,
    post_schedule,
    post_update,
)

__all__ = [
    "BULK_ACTIONS",
    "BULK_ACTION_NEEDS",
    "BUSY",
    "DUPLICATED_FIELDS",
    "MAX_COMMENT",
    "MAX_SCHEDULE_DAYS",
    "MAX_TIMES_A_DAY",
    "REVIEW_VERBS",
    "SCHEDULE_PAST_TOLERANCE",
    "BulkResult",
    "IdempotencyConflict",
    "SpreadPlan",
    "batch_cancel",
    "batch_delete",
    "batch_estimate",
    "batch_retry_failed",
    "batch_set_cost_cap",
    "batch_start",
    "batch_start_once",
    "campaign_create",
    "campaign_delete",
    "campaign_duplicate",
    "campaign_update",
    "campaigns_import",
    "check_batch_cost_cap",
    "check_caption",
    "check_cost_cap",
    "check_count",
    "check_mode",
    "check_review",
    "check_schedule",
    "check_schedule_time",
    "check_spread_plan",
    "comment_create",
    "delete_files",
    "delete_with_image_files",
    "post_comments",
    "post_delete",
    "post_regenerate",
    "post_review",
    "post_schedule",
    "post_update",
    "posts_bulk_apply",
]
