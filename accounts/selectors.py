"""Reads of a person's own settings."""

from django.contrib.auth.models import User

from accounts.calendar_tokens import MAX_TOKEN_LENGTH, calendar_token_candidates, token_hash
from accounts.models import Profile


def time_zone_of(user: User) -> str:
    """The person's time zone name, or "" for the site's default (settings.TIME_ZONE)."""
    return Profile.objects.filter(user=user).values_list("time_zone", flat=True).first() or ""


def calendar_token_of(user: User) -> str:
    """The secret of the person's calendar feed URL, or "" when they have made none (or when the site's
    SECRET_KEY changed since, with the old one not in SECRET_KEY_FALLBACKS: the URL still works, but
    cannot be shown again)."""
    stored = Profile.objects.filter(user=user).values_list("calendar_token_seed", "calendar_token_hash").first()
    if stored is None or not stored[0]:
        return ""
    seed, digest = stored
    return next((token for token in calendar_token_candidates(seed) if token_hash(token) == digest), "")


def user_by_calendar_token(token: str) -> User | None:
    """The active person whose calendar feed URL carries `token`, or None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    profile = (
        Profile.objects.select_related("user")
        .filter(calendar_token_hash=token_hash(token), user__is_active=True)
        .first()
    )
    return profile.user if profile is not None else None
