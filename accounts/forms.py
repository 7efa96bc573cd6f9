from django import forms
from django.conf import settings

from accounts.models import time_zone_names


def time_zone_choices() -> list[tuple[str, str]]:
    return [("", f"The default ({settings.TIME_ZONE})")] + [
        (name, name.replace("_", " ")) for name in sorted(time_zone_names())
    ]


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Time zone",
        choices=time_zone_choices,
        required=False,
        help_text="Scheduling, the calendar and every time on the pages use it.",
    )
