"""The template filters of the marketer's pages."""

from decimal import Decimal

import pytest

from campaigns.templatetags.campaign_ui import batch_status_label, caption_limit, duration, rate, usd
from shared.platforms import RULES


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "–"), (0, "0 s"), (4.4, "4 s"), (62.4, "1 min 2 s"), (3600, "1 h 0 min"), (4000, "1 h 6 min"), (-3, "0 s")],
)
def test_duration(seconds, text):
    assert duration(seconds) == text


@pytest.mark.parametrize(
    ("amount", "text"),
    [(None, "–"), (Decimal("0"), "$0.00"), (Decimal("0.0042"), "$0.0042"), (Decimal("1234.5"), "$1,234.50")],
)
def test_usd(amount, text):
    assert usd(amount) == text


def test_rate_and_labels():
    assert (rate(None), rate(4.25), rate(16.4)) == ("–", "4.2", "16")
    assert batch_status_label("partially_failed") == "Partially failed"
    assert batch_status_label("nonsense") == "nonsense"
    assert caption_limit("x") == RULES["x"].caption_limit and caption_limit("myspace") == 0
