"""Requests to addresses that members give us (webhook endpoints): public addresses only, and
the request goes to the very address that was checked.

A URL's host is resolved once (`resolve`), every address it answers is judged (`non_public`),
and the request is sent with `pinned_client`, whose connections go to those checked addresses
and nowhere else. Resolving twice (once to check, once to connect) would let a name answer a
public address to the check and 127.0.0.1 to the connection (DNS rebinding). The URL's host
still names the request: the Host header and the TLS server name (SNI, and the certificate's
check) are the URL's, only the TCP connection goes to the pinned address.

Only global unicast addresses pass. An IPv6 address that carries an IPv4 one (IPv4-mapped,
IPv4-translated, IPv4-compatible, NAT64, 6to4, Teredo) is judged by that IPv4 address too:
Python's `ipaddress` calls `64:ff9b::7f00:1` global, yet a NAT64 gateway sends it to 127.0.0.1.

ALLOW_PRIVATE_TARGETS (WEBHOOK_ALLOW_PRIVATE_TARGETS is its old name, still read) lets
development and the tests reach private and loopback addresses; the host is still resolved once
and pinned.
"""

import ipaddress
import socket
import typing
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_IPV4_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
# RFC 8215's local-use NAT64 prefix: where its IPv4 sits depends on the operator's prefix length,
# and nothing in it is global, so all of it is refused.
_NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_TEREDO = ipaddress.ip_network("2001::/32")


class TargetRefused(Exception):
    """The URL may not be called. `reason` is a short code for logs and pages; str() explains."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def private_targets_allowed() -> bool:
    return bool(
        getattr(settings, "ALLOW_PRIVATE_TARGETS", False) or getattr(settings, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
    )


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (none for a plain IPv6 address)."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _IPV4_MAPPED or ip in _IPV4_TRANSLATED or ip in _IPV4_COMPATIBLE or ip in _NAT64_WELL_KNOWN:
        return [low32]
    if ip in _SIX_TO_FOUR:
        return [ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF)]
    if ip in _TEREDO:
        server = ipaddress.IPv4Address((int(ip) >> 64) & 0xFFFFFFFF)
        client = ipaddress.IPv4Address(~int(ip) & 0xFFFFFFFF)  # stored inverted
        return [server, client]
    return []


def non_public(address: str | Address) -> bool:
    """True unless the address is global unicast, and so is every IPv4 address it carries."""
    ip = ipaddress.ip_address(str(address).split("%", 1)[0]) if isinstance(address, str) else address
    if ip.is_multicast or not ip.is_global:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL_USE:
            return True
        return any(non_public(inner) for inner in embedded_ipv4(ip))
    return False


def resolve(host: str, port: int) -> list[str]:
    """The host's addresses, in the resolver's order: an IP literal is its own and only address."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]
        if address not in addresses:
            addresses.append(address)
    return addresses


def checked_addresses(url: str) -> list[str]:
    """Resolve the URL's host once and judge every address: the addresses to connect to.

    Raises TargetRefused ("bad_url", "unresolved" or "private_address")."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("bad_url", "Use an http:// or https:// URL.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = resolve(parts.hostname, port)
    except (OSError, ValueError, UnicodeError):
        raise TargetRefused("unresolved", f"The host {parts.hostname} does not resolve.") from None
    if not addresses:
        raise TargetRefused("unresolved", f"The host {parts.hostname} does not resolve.")
    if not private_targets_allowed() and any(non_public(address) for address in addresses):
        raise TargetRefused(
            "private_address", f"{parts.hostname} resolves to a private or local address; use a public one."
        )
    return addresses


class _PinnedBackend(httpcore.SyncBackend):
    """httpcore's own socket backend, told to connect only to the checked addresses.

    httpcore hands the URL's host to connect_tcp and, separately, to start_tls as the server
    name: replacing the host here changes where the socket goes and nothing else."""

    def __init__(self, addresses: list[str]) -> None:
        self.addresses = addresses

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        error: Exception | None = None
        for address in self.addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failed:
                error = failed
        assert error is not None
        raise error


class PinnedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool whose network backend is pinned.

    httpx.HTTPTransport takes no network backend, so its pool is rebuilt with one, with the same
    TLS context; the transport's request and error mapping stay httpx's own."""

    def __init__(self, addresses: list[str]) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=1,
            network_backend=_PinnedBackend(addresses),
        )


def pinned_client(addresses: list[str], *, timeout: float) -> httpx.Client:
    """A client that connects only to `addresses` (from checked_addresses) and follows no redirect.

    trust_env=False: a proxy from the environment would resolve the name again, on its side."""
    return httpx.Client(transport=PinnedTransport(addresses), trust_env=False, follow_redirects=False, timeout=timeout)
