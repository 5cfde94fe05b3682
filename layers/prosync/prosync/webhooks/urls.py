"""Which endpoint URLs are accepted at registration (the address check itself is made at every
delivery by prosync.net.guard, on the addresses actually connected to)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOOPBACK_HOST = "127.0.0.1"


class EndpointUrlInvalid(ValueError):
    pass


def check_url(url: str, *, allow_http_loopback: bool = False) -> str:
    """The URL as stored, or EndpointUrlInvalid: https:// with a host, no credentials, no fragment;
    http://127.0.0.1[:port] only with the dev setting. A literal address is checked here too (a
    public name is checked on each delivery). (urllib, not httpx: the api function imports this.)"""
    if not isinstance(url, str) or len(url) > 2048 or any(c.isspace() or ord(c) < 32 for c in url):
        raise EndpointUrlInvalid("not a URL (at most 2048 characters, no spaces)")
    try:
        parsed = urlsplit(url)
        host, port = (parsed.hostname or "").lower(), parsed.port
    except ValueError as exc:
        raise EndpointUrlInvalid(f"not a URL: {exc}") from None
    if parsed.username is not None or parsed.password is not None or parsed.fragment:
        raise EndpointUrlInvalid("no credentials or fragment in the URL")
    if parsed.scheme == "http" and host == LOOPBACK_HOST and allow_http_loopback:
        return url
    if parsed.scheme != "https":
        raise EndpointUrlInvalid("the URL must be https://")
    if not host or ("." not in host and ":" not in host):
        raise EndpointUrlInvalid("the URL needs a fully qualified host name")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return url
    from prosync.net.guard import refusal_reason  # noqa: PLC0415 (httpx: only for a literal address)

    reason = refusal_reason(address)
    if reason:
        raise EndpointUrlInvalid(f"the host is a {reason} address")
    return url


def trusted_origins(url: str, allow_http_loopback: bool) -> list[str]:
    """Origins the guard connects to without the address check: only the dev loopback one."""
    parsed = urlsplit(url)
    if allow_http_loopback and parsed.scheme == "http" and parsed.hostname == LOOPBACK_HOST:
        return [f"http://{LOOPBACK_HOST}:{parsed.port or 80}"]
    return []
