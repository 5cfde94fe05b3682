"""HTTP to third-party URLs, checked on the address actually connected to (SSRF, DNS rebinding).

`GuardedClient` is an httpx client whose every TCP connection -- the first request, each redirect hop
a caller follows, a new connection after a pooled one closed -- is opened by `GuardedBackend`:

1. it resolves the host itself with `resolve` (`socket.getaddrinfo` unless a caller, e.g. a test,
   gives another);
2. if any of the addresses is not a public unicast one (`refusal_reason`: loopback, private,
   link-local and the cloud metadata addresses, CGNAT, unique-local, multicast, reserved,
   unspecified, and those as IPv4 inside IPv6: mapped, 6to4, NAT64), it raises `AddressRejected`
   before any socket is opened, so nothing is sent;
3. else it connects to those checked addresses (in the resolver's order), never to the name: httpx
   does not resolve the name again, so an answer that changes between check and connect cannot
   slip through. TLS still sends the name as SNI and verifies the certificate against it (httpcore
   passes the origin's host to `start_tls`); the Host header is the URL's.

`trusted` origins (scheme://host[:port], e.g. Sync.so's API base URL, the emulator on 127.0.0.1
locally) are configuration, not third-party input: their host and port are resolved the same way but
not checked. The client ignores HTTP(S)_PROXY and friends (a proxy would connect in our stead) and
has no mounts; `AddressRejected` is not an `httpx.HTTPError`, so callers that retry network errors do
not retry a refusal.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import typing
from collections.abc import Callable, Iterable

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., list[tuple[typing.Any, ...]]]  # socket.getaddrinfo(host, port, type=...)

# Checked in this order; the first network that holds an address names why it is refused. Listed
# explicitly rather than trusting `ipaddress`'s is_private/is_global alone, whose tables differ across
# Python versions (they are still consulted last).
_REFUSED = [(ipaddress.ip_network(net), why) for net, why in (
    ("169.254.169.254/32", "cloud metadata"), ("fd00:ec2::254/128", "cloud metadata"),
    ("0.0.0.0/8", "unspecified"), ("::/128", "unspecified"),
    ("127.0.0.0/8", "loopback"), ("::1/128", "loopback"),
    ("10.0.0.0/8", "private"), ("172.16.0.0/12", "private"), ("192.168.0.0/16", "private"),
    ("100.64.0.0/10", "shared (CGNAT)"),
    ("169.254.0.0/16", "link-local"), ("fe80::/10", "link-local"),
    ("fc00::/7", "unique-local"), ("fec0::/10", "site-local"),
    ("224.0.0.0/4", "multicast"), ("ff00::/8", "multicast"),
    ("192.0.0.0/24", "reserved"), ("192.0.2.0/24", "reserved"), ("192.88.99.0/24", "reserved"),
    ("198.18.0.0/15", "reserved"), ("198.51.100.0/24", "reserved"), ("203.0.113.0/24", "reserved"),
    ("240.0.0.0/4", "reserved"), ("::/8", "reserved"), ("64:ff9b:1::/48", "reserved"),
    ("100::/64", "reserved"), ("2001::/23", "reserved"), ("2001:db8::/32", "reserved"),
    ("3fff::/20", "reserved"),
)]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class AddressRejected(Exception):
    """A connection the guard refused: the host resolves to an address that is not public.

    The message names the host and the kind of address, not the address itself (it may be shown to
    users); `address` holds it for logs."""

    def __init__(self, host: str, port: int, address: IPAddress | None, reason: str):
        super().__init__(f"{host}:{port} resolves to a {reason} address" if address is not None
                         else f"{host}:{port}: {reason}")
        self.host, self.port, self.address, self.reason = host, port, address, reason


def refusal_reason(address: IPAddress) -> str | None:
    """Why a connection to `address` is refused, or None for a public unicast address."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        reason = refusal_reason(embedded)
        return f"{reason} (IPv4 inside IPv6)" if reason else None
    for network, reason in _REFUSED:
        if address.version == network.version and address in network:
            return reason
    if address.is_private or address.is_reserved or address.is_multicast or not address.is_global:
        return "non-public"
    return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries to the network: IPv4-mapped (::ffff:a.b.c.d), 6to4
    (2002:AABB:CCDD::/48) or the well-known NAT64 prefix (64:ff9b::a.b.c.d)."""
    if address.version != 6:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def origin_key(url: str | httpx.URL) -> tuple[str, int]:
    """(host, port) of a URL as the backend sees a connection to it."""
    parsed = httpx.URL(url)
    return parsed.host.lower().rstrip("."), parsed.port or _DEFAULT_PORTS.get(parsed.scheme, 0)


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's sync network backend, resolving and checking every address before it connects."""

    def __init__(self, trusted: Iterable[str | httpx.URL] = (), resolve: Resolver = socket.getaddrinfo):
        self._trusted = frozenset(origin_key(url) for url in trusted)
        self._resolve = resolve
        self._inner = httpcore.SyncBackend()

    def addresses(self, host: str, port: int) -> list[IPAddress]:
        """The addresses `host` resolves to, in the resolver's order, without repeats."""
        try:
            answers = self._resolve(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        found: list[IPAddress] = []
        for family, *_, sockaddr in answers:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            address = ipaddress.ip_address(sockaddr[0])
            if address not in found:
                found.append(address)
        if not found:
            raise httpcore.ConnectError(f"{host} resolves to no IP address")
        return found

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        addresses = self.addresses(host, port)
        if (host.lower().rstrip("."), port) not in self._trusted:
            for address in addresses:
                reason = refusal_reason(address)
                if reason is not None:  # one bad answer refuses the name: a rebinding attempt, at best
                    raise AddressRejected(host, port, address, reason)
        failure: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(str(address), port, timeout=timeout,
                                               local_address=local_address, socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        raise AddressRejected(path, 0, None, "a Unix socket is never connected to")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport (request and error mapping, streaming) over a connection pool that
    opens connections only through `GuardedBackend`.

    `httpx.HTTPTransport.__init__` takes no network backend, so this builds the pool itself instead
    of calling it; the rest of `HTTPTransport` only uses `self._pool`."""

    def __init__(self, backend: GuardedBackend, *, ssl_context: ssl.SSLContext | None = None,
                 limits: httpx.Limits = httpx.Limits(max_connections=20, max_keepalive_connections=10)):
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True, http2=False, retries=0, network_backend=backend,
        )


class GuardedClient(httpx.Client):
    """An httpx client for URLs a third party gave us (see the module docstring).

    `trusted`: origins connected to whatever they resolve to; `resolve`: the name resolver
    (getaddrinfo's signature); `ssl_context`: certificates to trust (default: certifi's)."""

    def __init__(self, *, timeout: float | httpx.Timeout, trusted: Iterable[str | httpx.URL] = (),
                 resolve: Resolver = socket.getaddrinfo, ssl_context: ssl.SSLContext | None = None,
                 follow_redirects: bool = False, headers: dict[str, str] | None = None):
        self.backend = GuardedBackend(trusted, resolve)
        super().__init__(transport=GuardedTransport(self.backend, ssl_context=ssl_context), timeout=timeout,
                         trust_env=False, follow_redirects=follow_redirects, headers=headers)
