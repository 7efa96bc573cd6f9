"""Who belongs to a workspace: invitations by signed link, roles changed, members removed.

An invitation is a link signed with the project's SECRET_KEY (django.core.signing) that names the
workspace and the role, and expires after INVITATION_MAX_AGE. Anyone signed in who opens it
before then joins with that role, so it is sent to one person (by email when email is
configured, otherwise copied from the members page). A workspace always keeps an owner.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction

from campaigns.access import check_allowed
from campaigns.models import Membership, Workspace
from campaigns.roles import Action, Role

INVITATION_MAX_AGE = timedelta(days=7)
_SALT = "campaigns.members.invitation"
_DEFAULT_EMAIL = ("django.core.mail.backends.smtp.EmailBackend", "localhost")


@dataclass(frozen=True)
class Invitation:
    workspace: Workspace
    role: Role
    url: str = ""
    emailed: bool = False


def email_configured() -> bool:
    """False while email is Django's default (SMTP on localhost, which nobody set up)."""
    return (settings.EMAIL_BACKEND, settings.EMAIL_HOST) != _DEFAULT_EMAIL


def check_role(role: object) -> Role:
    if role not in Role.values:
        raise ValidationError(f"Choose a role: {', '.join(Role.values)}.")
    return Role(str(role))


def invitation_create(
    *, workspace: Workspace, actor: User | None, role: str, email: str = "", url_for: Callable[[str], str]
) -> Invitation:
    """A signed link that makes whoever opens it a member with `role`; emailed to `email` when email works.

    `url_for` turns the token into the absolute link (the view knows the host).
    """
    check_allowed(actor, workspace, Action.MANAGE_MEMBERS)
    role = check_role(role)
    token = signing.dumps({"w": workspace.pk, "r": role.value}, salt=_SALT)
    url = url_for(token)
    emailed = False
    if email and email_configured():
        inviter = actor.get_username() if actor else "The team"
        days = INVITATION_MAX_AGE.days
        send_mail(
            subject=f"Join {workspace.name} on Campaign Posts",
            message=f"{inviter} invites you to {workspace.name} as {role.label.lower()}.\n\n"
            f"Open this link within {days} days to join:\n{url}\n",
            from_email=None,
            recipient_list=[email],
        )
        emailed = True
    return Invitation(workspace=workspace, role=role, url=url, emailed=emailed)


def invitation_read(token: str) -> Invitation:
    """What a link invites to; ValidationError when it was altered, has expired, or its workspace is gone."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=INVITATION_MAX_AGE)
    except signing.SignatureExpired:
        raise ValidationError("This invitation has expired: ask for a new link.") from None
    except signing.BadSignature:
        raise ValidationError("This invitation link is not valid: check that it was copied whole.") from None
    workspace = Workspace.objects.filter(pk=data.get("w")).first()
    if workspace is None or data.get("r") not in Role.values:
        raise ValidationError("This invitation is no longer valid.")
    return Invitation(workspace=workspace, role=Role(data["r"]))


def invitation_accept(*, token: str, user: User) -> Membership:
    """Join the workspace a link invites to; a member already keeps the role they have."""
    invitation = invitation_read(token)
    membership, _created = Membership.objects.get_or_create(
        workspace=invitation.workspace, user=user, defaults={"role": invitation.role}
    )
    return membership


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
