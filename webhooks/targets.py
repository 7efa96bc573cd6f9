"""Where webhooks may be sent: public http(s) addresses only, unless a setting allows more.

An endpoint URL that resolves to a private, loopback, link-local or otherwise non-public
address would let a member make the server call its own network (SSRF). It is refused when
registered and checked again before every attempt (a name may resolve elsewhere later), and
each attempt connects to the addresses that this check resolved and judged, not to what a
second lookup would say (shared/outbound.py). ALLOW_PRIVATE_TARGETS (or its old name
WEBHOOK_ALLOW_PRIVATE_TARGETS) lifts this for development and for the tests' local receivers.
"""

from django.core.exceptions import ValidationError

from shared.outbound import TargetRefused, checked_addresses


def check_target(url: str) -> list[str]:
    """The URL's checked addresses; ValidationError (keyed "url") unless it is http(s) to a public address."""
    try:
        return checked_addresses(url)
    except TargetRefused as refused:
        raise ValidationError({"url": str(refused)}) from None
