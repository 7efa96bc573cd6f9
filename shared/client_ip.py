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
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


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
