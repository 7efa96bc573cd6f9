"""Who belongs to a workspace: invitations by link, roles changed, members removed.

An invitation is a row (models.Invitation) and a link that carries a random token; the row keeps
only the token's hash. The link works once, until INVITATION_MAX_AGE has passed, and an owner can
revoke it before then; it is sent to one person (by email when email is configured, otherwise
copied from the members page, where it is shown once). A workspace always keeps an owner.
"""

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from workspaces.access import check_allowed
from workspaces.models import Invitation, Membership, Workspace
from workspaces.roles import Action, Role
from workspaces.services.workspaces import personal_workspace

INVITATION_MAX_AGE = timedelta(days=7)
# Longer than any token we make (43 characters): anything longer is refused without hashing it.
_MAX_TOKEN_LENGTH = 100


@dataclass(frozen=True)
class InvitationLink:
    """A new invitation and its link, which exists only here: the row keeps the token's hash."""

    invitation: Invitation
    url: str
    emailed: bool = False


def email_configured() -> bool:
    """Whether EMAIL_URL set up a backend (config.settings: the console in development, none without it)."""
    return bool(settings.EMAIL_CONFIGURED)


def check_role(role: object) -> Role:
    if role not in Role.values:
        raise ValidationError(f"Choose a role: {', '.join(Role.values)}.")
    return Role(str(role))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_create(
    *, workspace: Workspace, actor: User | None, role: str, email: str = "", url_for: Callable[[str], str]
) -> InvitationLink:
    """An invitation to join `workspace` with `role`, and its link; emailed to `email` when email works.

    `url_for` turns the token into the absolute link (the view knows the host).
    """
    check_allowed(actor, workspace, Action.MANAGE_MEMBERS)
    role = check_role(role)
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        workspace=workspace,
        role=role,
        email=email,
        token_hash=_token_hash(token),
        created_by=actor,
        expires_at=timezone.now() + INVITATION_MAX_AGE,
    )
    url = url_for(token)
    emailed = False
    if email and email_configured():
        inviter = actor.get_username() if actor else "The team"
        days = INVITATION_MAX_AGE.days
        send_mail(
            subject=f"Join {workspace.name} on Campaign Posts",
            message=f"{inviter} invites you to {workspace.name} as {role.label.lower()}.\n\n"
            f"Open this link within {days} days to join (it works once):\n{url}\n",
            from_email=None,
            recipient_list=[email],
        )
        emailed = True
    return InvitationLink(invitation=invitation, url=url, emailed=emailed)


def _find(token: str, *, lock: bool = False) -> Invitation:
    found = None
    if len(token) <= _MAX_TOKEN_LENGTH:
        rows = Invitation.objects.select_related("workspace")
        found = (rows.select_for_update() if lock else rows).filter(token_hash=_token_hash(token)).first()
    if found is None:
        raise ValidationError("This invitation link is not valid: check that it was copied whole.")
    return found


def _check_usable(invitation: Invitation) -> None:
    name = invitation.workspace.name
    if invitation.accepted_at is not None:
        raise ValidationError(f"This invitation to {name} has already been used: ask its owners for a new link.")
    if invitation.revoked_at is not None:
        raise ValidationError(f"This invitation to {name} was revoked: ask its owners for a new link.")
    if invitation.expires_at <= timezone.now():
        raise ValidationError(f"This invitation to {name} has expired: ask its owners for a new link.")


def invitation_read(token: str) -> Invitation:
    """What a link invites to; ValidationError when it is not one of ours, was used, revoked, or has expired."""
    invitation = _find(token)
    _check_usable(invitation)
    return invitation


def invitation_accept(*, token: str, user: User) -> Membership:
    """Join the workspace a link invites to, and use the link up.

    A member already keeps the role they have, and leaves the link to the person it was meant for.
    The row is locked from the check to the write: of two people accepting at once, one joins and
    the other is told the link was used.
    """
    # The pages make a personal workspace only for someone in no workspace yet: one whose first
    # request is this would go without.
    personal_workspace(user)
    with transaction.atomic():
        invitation = _find(token, lock=True)
        _check_usable(invitation)
        membership = Membership.objects.filter(workspace=invitation.workspace, user=user).first()
        if membership is not None:
            return membership
        membership = Membership.objects.create(workspace=invitation.workspace, user=user, role=invitation.role)
        invitation.accepted_by, invitation.accepted_at = user, timezone.now()
        invitation.save(update_fields=["accepted_by", "accepted_at"])
    return membership


def invitation_revoke(*, invitation: Invitation, actor: User | None) -> Invitation:
    """Take a pending invitation back: its link no longer works. One used or revoked already is refused."""
    check_allowed(actor, invitation.workspace, Action.MANAGE_MEMBERS)
    now = timezone.now()
    # Conditional: an acceptance that commits first wins, and this one changes nothing.
    pending = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True)
    if not pending.update(revoked_at=now):
        invitation.refresh_from_db()
        raise ValidationError(f"This invitation was already {invitation.state}.")
    invitation.revoked_at = now
    return invitation


def _lock_owners(workspace_id: int) -> None:
    """Lock the workspace's owner rows: two owners demoting each other at once would otherwise leave none."""
    list(Membership.objects.select_for_update().filter(workspace_id=workspace_id, role=Role.OWNER).values_list("pk"))


def _keep_an_owner(membership: Membership) -> None:
    others = Membership.objects.filter(workspace_id=membership.workspace_id, role=Role.OWNER).exclude(pk=membership.pk)
    if membership.role == Role.OWNER and not others.exists():
        raise ValidationError("A workspace needs an owner: make someone else owner first.")


@transaction.atomic
def member_change_role(*, membership: Membership, actor: User | None, role: str) -> Membership:
    check_allowed(actor, membership.workspace, Action.MANAGE_MEMBERS)
    role = check_role(role)
    _lock_owners(membership.workspace_id)
    if role != Role.OWNER:
        _keep_an_owner(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def member_remove(*, membership: Membership, actor: User | None) -> None:
    """Remove a member: from now on the workspace's campaigns, batches, posts and images are 404 to them."""
    check_allowed(actor, membership.workspace, Action.MANAGE_MEMBERS)
    _lock_owners(membership.workspace_id)
    _keep_an_owner(membership)
    membership.delete()
