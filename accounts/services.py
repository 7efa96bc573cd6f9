"""Writes of a person's own settings."""

import secrets

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from accounts.calendar_tokens import calendar_token, token_hash
from accounts.models import Profile, validate_time_zone


def profile_set_time_zone(*, user: User, time_zone: str) -> Profile:
    """The person's time zone, which pages, scheduling and the calendar use (empty: the site's default)."""
    time_zone = time_zone.strip()
    validate_time_zone(time_zone)
    profile, _created = Profile.objects.update_or_create(user=user, defaults={"time_zone": time_zone})
    return profile


def profile_adopt_browser_time_zone(*, user: User, time_zone: str) -> bool:
    """At sign-in: take the zone the browser reported if the person has none yet. Returns whether it did.

    A zone the person chose is never overwritten, and a value that is no known zone is ignored
    (it comes from the browser, not from a form anyone sees).
    """
    time_zone = time_zone.strip()
    try:
        validate_time_zone(time_zone)
    except ValidationError:
        return False
    if not time_zone:
        return False
    profile, created = Profile.objects.get_or_create(user=user, defaults={"time_zone": time_zone})
    if created:
        return True
    return bool(Profile.objects.filter(pk=profile.pk, time_zone="").update(time_zone=time_zone))


def profile_new_calendar_token(*, user: User) -> str:
    """A new secret for the person's calendar feed URL, returned; the previous one answers 404 from now on."""
    seed = secrets.token_urlsafe(32)
    token = calendar_token(seed)
    Profile.objects.update_or_create(
        user=user, defaults={"calendar_token_seed": seed, "calendar_token_hash": token_hash(token)}
    )
    return token
