"""Who in a workspace may do what: the one table of roles and actions.

Services ask through workspaces.access.require; pages ask through the same table (the
`can` template filter and allowed_actions), so a button is hidden exactly when the service
would refuse it.
"""

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    REVIEWER = "reviewer", "Reviewer"
    VIEWER = "viewer", "Viewer"


class Action(StrEnum):
    VIEW = "view"
    EDIT_CAMPAIGN = "edit_campaign"  # create, edit and delete campaigns (their briefs)
    START_BATCH = "start_batch"  # start a batch, retry its failures, change its cost cap
    CANCEL_BATCH = "cancel_batch"
    EDIT_POST = "edit_post"
    REGENERATE = "regenerate"
    REVIEW = "review"  # approve, reject, back to draft
    SCHEDULE = "schedule"
    DELETE_POST = "delete_post"  # posts, and a finished batch with its posts
    EXPORT = "export"
    COMMENT = "comment"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_WORKSPACE = "manage_workspace"  # budget, settings, webhooks, others' tokens

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


_EVERYONE = frozenset({Action.VIEW, Action.EXPORT})
_EDITING = frozenset(
    {
        Action.EDIT_CAMPAIGN,
        Action.START_BATCH,
        Action.CANCEL_BATCH,
        Action.EDIT_POST,
        Action.REGENERATE,
        Action.DELETE_POST,
        Action.COMMENT,
    }
)
_REVIEWING = frozenset({Action.REVIEW, Action.SCHEDULE, Action.COMMENT})

ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.OWNER: frozenset(Action),
    Role.EDITOR: _EVERYONE | _EDITING,
    Role.REVIEWER: _EVERYONE | _REVIEWING,
    Role.VIEWER: _EVERYONE,
}


def can(role: str, action: Action) -> bool:
    """Whether `role` (a Role or its value) allows `action`; an unknown role allows nothing."""
    try:
        return action in ROLE_ACTIONS[Role(role)]
    except ValueError:
        return False


def allowed_actions(role: str | None) -> dict[str, bool]:
    """{action value: allowed} for a role, for templates ("{% if allowed.review %}"); None allows nothing."""
    return {action.value: role is not None and can(role, action) for action in Action}
