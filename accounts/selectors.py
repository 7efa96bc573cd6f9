"""Reads of a person's own settings."""

from django.contrib.auth.models import User

from accounts.models import Profile


def time_zone_of(user: User) -> str:
    """The person's time zone name, or "" for the site's default (settings.TIME_ZONE)."""
    return Profile.objects.filter(user=user).values_list("time_zone", flat=True).first() or ""
