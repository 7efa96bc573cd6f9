"""The secret in a person's calendar feed URL, and how it is stored.

Calendar apps send no credentials, so the URL is the credential, and the person must be able to
copy it again (for a second calendar app) without breaking the ones subscribed to it. So the
token is not kept: it is an HMAC of a random seed (Profile.calendar_token_seed) under SECRET_KEY,
made again when the settings page shows it, and the feed finds the person by the token's SHA-256
(Profile.calendar_token_hash). The table alone holds no working URL; the seed alone, without
SECRET_KEY, gives none. The token has 256 bits, so one round of SHA-256 is enough to store it.
"""

import base64
import hashlib

from django.conf import settings
from django.utils.crypto import salted_hmac

_KEY_SALT = "accounts.calendar_tokens"
# Longer than any token we make (43 characters): anything longer is refused without hashing it.
MAX_TOKEN_LENGTH = 100


def _token(seed: str, secret: str | bytes) -> str:
    digest = salted_hmac(_KEY_SALT, seed, secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def calendar_token(seed: str) -> str:
    """The token made from `seed` under SECRET_KEY."""
    return _token(seed, settings.SECRET_KEY)


def calendar_token_candidates(seed: str) -> list[str]:
    """The tokens made from `seed` under SECRET_KEY and each of SECRET_KEY_FALLBACKS (after a key rotation)."""
    return [_token(seed, secret) for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
