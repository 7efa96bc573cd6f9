"""Writes about workspaces themselves: creating them and (workspaces.services.members) who belongs to them."""

from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from workspaces.access import check_allowed
from workspaces.models import Membership, Workspace
from workspaces.roles import Action, Role


def unique_slug(name: str) -> str:
    """slugify(name), with -2, -3, ... when taken."""
    base = slugify(name)[:120] or "workspace"
    taken = set(Workspace.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, suffix = base, 2
    while slug in taken:
        slug, suffix = f"{base}-{suffix}", suffix + 1
    return slug


@transaction.atomic
def workspace_create(*, name: str, owner: User, personal: bool = False) -> Workspace:
    """A new workspace with `owner` as its owner member."""
    name = " ".join(name.split())[:120]
    workspace = Workspace.objects.create(name=name, slug=unique_slug(name), personal_for=owner if personal else None)
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    return workspace


def personal_workspace(user: User) -> Workspace:
    """The user's own workspace, made on first use (new users get one the first time they need it).

    Two requests of a new user at once may both try to make it: the one-to-one on personal_for
    lets one win, and the other reads the winner's.
    """
    existing = Workspace.objects.filter(personal_for=user).first()
    if existing is not None:
        return existing
    try:
        return workspace_create(name=f"{user.get_username()}'s workspace", owner=user, personal=True)
    except IntegrityError:
        return Workspace.objects.get(personal_for=user)


WORKSPACE_SETTINGS = ("name", "approval_required", "monthly_budget_usd")


def workspace_update(*, workspace: Workspace, actor: User | None, **fields: Any) -> Workspace:
    """Change a workspace's settings (WORKSPACE_SETTINGS); only its owners may."""
    check_allowed(actor, workspace, Action.MANAGE_WORKSPACE)
    unknown = set(fields) - set(WORKSPACE_SETTINGS)
    if unknown:
        raise ValueError(f"not a workspace setting: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(workspace, name, value)
    workspace.full_clean(exclude=["slug", "personal_for"])
    workspace.save(update_fields=[*fields])
    return workspace
