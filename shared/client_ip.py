"""The client's IP address, as the proxies we trust report it.

Behind a load balancer REMOTE_ADDR is the balancer's address for every client, so anything
keyed by it (django-axes' lockout, the sign-in and password-reset throttles) would treat all
clients as one. Each proxy appends the address it received the request from to
X-Forwarded-For; we believe only the entries our own proxies appended:

- TRUSTED_PROXY_COUNT = N: N proxies always stand in front of the app; the client is the entry
  N places from the right (REMOTE_ADDR counting as the rightmost).
- TRUSTED_PROXY_CIDRS: the proxies' networks; walking from the right, the first address outside
  them is the client. A request that did not come from a trusted proxy is its own client.

With neither set, REMOTE_ADDR is the client and X-Forwarded-For is ignored (it is the client's to
write). django-axes calls client_ip through AXES_CLIENT_IP_CALLABLE, its documented hook.

The same two settings decide whether X-Forwarded-Proto is believed (`forwarded_scheme`, applied
by TrustedProxyMiddleware before SecurityMiddleware): only from a request that came through our
proxies, so a client cannot say "https" over plain http to dodge SECURE_SSL_REDIRECT and the
secure cookies. Django's SECURE_PROXY_SSL_HEADER would believe it from anyone, and gunicorn is
told to believe no forwarded header (config/gunicorn.py): one setting decides, here.
"""

import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def _trusted(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in settings.TRUSTED_PROXY_NETWORKS)


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or "0.0.0.0"  # noqa: S104 - a placeholder, never bound
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if not forwarded or not (settings.TRUSTED_PROXY_COUNT or settings.TRUSTED_PROXY_NETWORKS):
        return remote
    hops = [hop.strip() for hop in forwarded.split(",")] + [remote]
    if settings.TRUSTED_PROXY_COUNT:
        if len(hops) <= settings.TRUSTED_PROXY_COUNT:
            return remote  # fewer hops than proxies: not the way our requests arrive
        client = hops[-(settings.TRUSTED_PROXY_COUNT + 1)]
        return client if _valid(client) else remote
    # Trusted networks: walk left from our peer while the hop is one of our proxies.
    nearest = remote
    for hop in reversed(hops):
        if not _valid(hop):
            return nearest  # our proxy wrote what it saw; garbage left of it is the client's own text
        if not _trusted(hop):
            return hop
        nearest = hop
    return nearest  # every hop is a proxy of ours: the request came from inside


def proxy_hops(request: HttpRequest) -> int:
    """How many of our proxies the request came through: 0 when it came straight from the client.

    TRUSTED_PROXY_COUNT = N: always N (the configuration says nothing else reaches the app).
    TRUSTED_PROXY_CIDRS: our peer and the X-Forwarded-For entries right of it that are in the
    networks, walking from the right until the first one that is not."""
    if settings.TRUSTED_PROXY_COUNT:
        return int(settings.TRUSTED_PROXY_COUNT)
    if not settings.TRUSTED_PROXY_NETWORKS:
        return 0
    remote = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",")] if forwarded else []
    count = 0
    for hop in reversed([*hops, remote]):
        if not _valid(hop) or not _trusted(hop):
            break
        count += 1
    return count


def forwarded_scheme(request: HttpRequest) -> str | None:
    """ "http" or "https" as our outermost proxy reported it in X-Forwarded-Proto; None when the
    request did not come through our proxies or they said nothing usable.

    A proxy that appends adds its entry on the right, so with N of ours the entry N places from the
    right is the one the outermost (the one the client reached, where TLS ends) wrote; the entries
    left of it are the client's own text. A proxy that overwrites leaves one entry: its own."""
    hops = proxy_hops(request)
    value = request.META.get("HTTP_X_FORWARDED_PROTO", "")
    if not hops or not value:
        return None
    entries = [entry.strip().lower() for entry in value.split(",")]
    scheme = entries[-hops] if len(entries) >= hops else entries[0]
    return scheme if scheme in ("http", "https") else None


class TrustedProxyMiddleware:
    """Take the request's scheme from X-Forwarded-Proto when, and only when, our proxies sent it.

    Runs before SecurityMiddleware, so its HTTPS redirect, and every request.is_secure() after it
    (secure cookies, CSRF's origin checks, absolute URLs), see the scheme the client really used."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        scheme = forwarded_scheme(request)
        if scheme is not None:
            # request.scheme reads these: WSGI's environ (request.META is the same dict), ASGI's scope.
            request.META["wsgi.url_scheme"] = scheme
            scope = getattr(request, "scope", None)
            if isinstance(scope, dict):
                scope["scheme"] = scheme
        return self.get_response(request)
