"""API tokens: made (shown once), looked up by their hash, revoked.

A token is 256 random bits, so one round of SHA-256 is enough to store it: there is nothing
to guess that a slow hash would protect, and a lookup is one indexed query.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from api.models import ApiToken, TokenScope

TOKEN_PREFIX = "cp_"  # noqa: S105 - the marker every token starts with, not a secret
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the full token: shown to its owner once, never stored


def token_create(*, user: User, name: str, scope: str) -> NewToken:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Name the token after what will use it."})
    if len(name) > ApiToken._meta.get_field("name").max_length:  # type: ignore[operator]
        raise ValidationError({"name": "Use at most 80 characters."})
    if scope not in TokenScope.values:
        raise ValidationError({"scope": "The scope is read or write."})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, scope=scope, prefix=secret[: len(TOKEN_PREFIX) + 8], key_hash=hash_token(secret)
    )
    return NewToken(token=token, secret=secret)


def token_revoke(*, user: User, pk: int) -> ApiToken:
    """Revoke one of the user's own tokens (ApiToken.DoesNotExist for anyone else's)."""
    token = ApiToken.objects.get(pk=pk, user=user, revoked_at__isnull=True)
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    return token


def token_authenticate(secret: str) -> ApiToken | None:
    """The live token with this secret, its user loaded, or None; records when it was last used."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.active().select_related("user").filter(key_hash=hash_token(secret)).first()
    if token is None:
        return None
    now = timezone.now()
    # One conditional UPDATE a minute at most, whatever the request rate.
    ApiToken.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION), pk=token.pk
    ).update(last_used_at=now)
    return token


def tokens_of(user: User) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at"))
