"""Reads of the campaigns domain, one module per topic: what the pages, the admin and the commands show.

Every function returns a queryset or plain values and takes the viewing user where access
matters: a user sees the campaigns (and their batches and posts) of the workspaces they are a
member of, whatever their role, and nothing else. That is decided here, once; what a role may
*do* is workspaces.roles, checked by the services through workspaces.access.require.
"""

from campaigns.selectors.batches import (
    PROGRESS_FIELDS,
    FailureGroup,
    active_batches,
    batch_failure_reasons,
    batch_for,
    batch_progress,
    batch_progress_for_staff,
    campaign_batches,
)
from campaigns.selectors.calendar import (
    CALENDAR_POST_FIELDS,
    CalendarDay,
    CalendarMonth,
    calendar_month,
    calendar_month_for,
)
from campaigns.selectors.campaigns import (
    CAMPAIGN_SORTS,
    campaign_by_reference,
    campaign_for,
    campaign_list,
    visible_campaigns,
)
from campaigns.selectors.posts import (
    campaign_posts,
    post_for,
    post_list,
    post_with_file,
    scheduled_posts,
    scheduled_posts_for,
)
from campaigns.selectors.spending import (
    Usage,
    usage_this_month,
    workspace_running_batches,
)

__all__ = [
    "CALENDAR_POST_FIELDS",
    "CAMPAIGN_SORTS",
    "PROGRESS_FIELDS",
    "CalendarDay",
    "CalendarMonth",
    "FailureGroup",
    "Usage",
    "active_batches",
    "batch_failure_reasons",
    "batch_for",
    "batch_progress",
    "batch_progress_for_staff",
    "calendar_month",
    "calendar_month_for",
    "campaign_batches",
    "campaign_by_reference",
    "campaign_for",
    "campaign_list",
    "campaign_posts",
    "post_for",
    "post_list",
    "post_with_file",
    "scheduled_posts",
    "scheduled_posts_for",
    "usage_this_month",
    "visible_campaigns",
    "workspace_running_batches",
]
