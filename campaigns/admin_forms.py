"""Forms of the staff admin's intermediate pages."""

from decimal import Decimal

from django import forms

from campaigns.models import MAX_BATCH_SIZE, PLATFORM_VALUES
from campaigns.platforms import Platform

# One action starts one batch per campaign in the request; past this, use generate_posts.
MAX_CAMPAIGNS_PER_ACTION = 50


class StartBatchForm(forms.Form):
    """Count, platforms and an optional cost cap for "start a batch" on the selected campaigns."""

    count = forms.IntegerField(
        label="Posts per campaign",
        min_value=1,
        max_value=MAX_BATCH_SIZE,
        initial=10,
        help_text=f"From 1 to {MAX_BATCH_SIZE:,}: each selected campaign gets one batch of this many posts.",
    )
    platforms = forms.MultipleChoiceField(
        choices=[(value, Platform(value).label) for value in PLATFORM_VALUES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Leave all unticked to use each campaign's own platforms; ticked ones apply to every campaign.",
    )
    cost_cap_usd = forms.DecimalField(
        label="Cost cap (USD)",
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        help_text="Optional: stop each batch cleanly once it has cost this much.",
    )
