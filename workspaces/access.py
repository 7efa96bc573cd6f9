"""The one check every service runs before it acts for a user: member of the workspace, and a role that allows it.

A non-member gets NotMember (pages answer 404, so nobody learns that the thing exists); a member
whose role doesn't allow the action gets PermissionDenied (403). Callers that act for nobody in
particular (the admin, where Django's staff permissions apply; commands run by an operator; the
workers) pass actor=None to the services and skip this check.
"""

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied

from workspaces.models import Membership, Workspace
from workspaces.roles import Action, Role, can
from workspaces.selectors import membership_of


class NotMember(Exception):
    """The user is not a member of the workspace (or not signed in): to them it doesn't exist."""


def require(user: User | AnonymousUser, workspace: Workspace, action: Action) -> Membership:
    """The user's membership of `workspace` if their role allows `action`; NotMember or PermissionDenied otherwise."""
    membership = membership_of(user, workspace) if user.is_authenticated and user.is_active else None
    if membership is None:
        raise NotMember(f"{user} is not a member of workspace #{workspace.pk}")
    if not can(membership.role, action):
        role = Role(membership.role).label.lower()
        raise PermissionDenied(f"A workspace {role} can't {action.label}.")
    return membership


def check_allowed(actor: User | None, workspace: Workspace, action: Action) -> None:
    """require() for a service acting for a user; nothing for actor=None (admin, operators' commands, engine)."""
    if actor is not None:
        require(actor, workspace, action)
