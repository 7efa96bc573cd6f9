"""A person's own settings. The table keeps the name it had in `campaigns` (moved state-only)."""

import zoneinfo
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


@lru_cache(maxsize=1)
def time_zone_names() -> frozenset[str]:
    """Every IANA zone name this machine knows (from the system or the tzdata package)."""
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value and value not in time_zone_names():
        raise ValidationError(
            "Unknown time zone %(value)s; pick one from the list, e.g. Europe/Madrid.", params={"value": value}
        )


class Profile(models.Model):
    """A person's own settings. Made on first need (accounts.services); no row means the defaults."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    # Empty until the browser says at the first sign-in (or the person picks one): settings.TIME_ZONE meanwhile.
    time_zone = models.CharField(max_length=64, blank=True, validators=[validate_time_zone])
    # The person's calendar feed (exports.calendar_feed): its URL's token is an HMAC of this random
    # seed under SECRET_KEY (accounts.services), so the settings page can show the URL again while the
    # table alone holds no working one; the feed finds the person by the token's SHA-256. Both empty:
    # no feed URL yet. A new seed is a new URL, and the old one answers 404.
    calendar_token_seed = models.CharField(max_length=64, blank=True, editable=False)
    calendar_token_hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        db_table = "campaigns_profile"
        constraints = [
            # Calendar apps poll the feed, which finds its person by this hash: unique, so indexed;
            # partial, since most people have none.
            models.UniqueConstraint(
                fields=["calendar_token_hash"],
                condition=~Q(calendar_token_hash=""),
                name="profile_calendar_token_hash_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Settings of {self.user}"
