"""API tokens: made (shown once), looked up by their hash, revoked.

A token is 256 random bits, so one round of SHA-256 is enough to store it: there is nothing
to guess that a slow hash would protect, and a lookup is one indexed query.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils import timezone

from api.models import ApiToken, TokenAccess
from workspaces.access import NotMember, require
from workspaces.models import Workspace
from workspaces.roles import Action, can
from workspaces.selectors import membership_of

TOKEN_PREFIX = "cp_"  # noqa: S105 - the marker every token starts with, not a secret
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the full token: shown to its owner once, never stored


def token_create(*, user: User, workspace: Workspace, name: str, access: str) -> NewToken:
    """A token for `user` in `workspace`, of which they must be a member (any role: the token can
    do what the role allows, and a read token less)."""
    require(user, workspace, Action.VIEW)
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Name the token after what will use it."})
    if len(name) > ApiToken._meta.get_field("name").max_length:  # type: ignore[operator]
        raise ValidationError({"name": "Use at most 80 characters."})
    if access not in TokenAccess.values:
        raise ValidationError({"access": "A token reads, or reads and writes: choose read or write."})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        workspace=workspace,
        name=name,
        access=access,
        prefix=secret[: len(TOKEN_PREFIX) + 8],
        key_hash=hash_token(secret),
    )
    return NewToken(token=token, secret=secret)


def token_revoke(*, actor: User, workspace: Workspace, pk: int) -> ApiToken:
    """Revoke a live token of `workspace`: one's own, or any member's for those who manage the
    workspace. ApiToken.DoesNotExist for any other (a page answers 404)."""
    token = ApiToken.objects.get(pk=pk, workspace=workspace, revoked_at__isnull=True)
    if token.user_id != actor.pk:
        try:
            require(actor, workspace, Action.MANAGE_WORKSPACE)
        except (NotMember, PermissionDenied):
            raise ApiToken.DoesNotExist from None
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    return token


def token_authenticate(secret: str) -> ApiToken | None:
    """The live token with this secret, its user and workspace loaded, or None; None too when its
    user is no longer a member of its workspace. Records when it was last used."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.active().select_related("user", "workspace").filter(key_hash=hash_token(secret)).first()
    if token is None or membership_of(token.user, token.workspace) is None:
        return None
    now = timezone.now()
    # One conditional UPDATE a minute at most, whatever the request rate.
    ApiToken.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION), pk=token.pk
    ).update(last_used_at=now)
    return token


def tokens_of(user: User, workspace: Workspace) -> list[ApiToken]:
    """The user's tokens in the workspace, live ones first; every member's for those who manage it."""
    tokens = ApiToken.objects.filter(workspace=workspace).select_related("user")
    membership = membership_of(user, workspace)
    if membership is None or not can(membership.role, Action.MANAGE_WORKSPACE):
        tokens = tokens.filter(user=user)
    return list(tokens.order_by("revoked_at", "-created_at"))
