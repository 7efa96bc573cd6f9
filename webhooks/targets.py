"""Where webhooks may be sent: public http(s) addresses only, unless a setting allows more.

An endpoint URL that resolves to a private, loopback, link-local or otherwise non-public
address would let a member make the server call its own network (SSRF). It is refused when
registered and checked again before every attempt (a name may resolve elsewhere later).
WEBHOOK_ALLOW_PRIVATE_TARGETS lifts this for development and for the tests' local receivers.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError


def _non_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_target(url: str) -> None:
    """Raise ValidationError (keyed "url") unless the URL is http(s) to a public address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"url": "Use an http:// or https:// URL."})
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)}
    except (OSError, ValueError, UnicodeError):
        raise ValidationError({"url": f"The host {parts.hostname} does not resolve."}) from None
    refused = sorted(address for address in addresses if _non_public(str(address)))
    if refused:
        raise ValidationError(
            {"url": f"{parts.hostname} resolves to a private or local address ({refused[0]}); use a public one."}
        )
