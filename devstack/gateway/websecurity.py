"""The security headers of the web page, and the page's own copy of its policy.

The page (`web/index.html`) carries its configuration in two `<meta>` tags, so that it holds
wherever the file is hosted:
- `prosync-api-origins`: the cross-origin APIs the page may send the user's token to (space-separated
  origins); a `?api=` naming any other origin is ignored by the page;
- `Content-Security-Policy`: no inline script or style, and `connect-src` limited to the page's own
  origin, those APIs, the storage the uploads go to and, when the page signs in (`web/auth.js`), the
  OpenID provider's origins (`auth_origins`).

The local gateway serves index.html with both tags rewritten from its own `WebSecurity` (the moto S3
endpoint has a port chosen at start) and sends the same policy as a header, with `frame-ancestors`
(ignored in a meta tag). `DEPLOYED_STORAGE_ORIGINS` is what the committed file allows for S3; a test
keeps the committed tag equal to `WebSecurity().policy()`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

API_ORIGINS_META = "prosync-api-origins"
WS_URL_META = "prosync-ws-url"  # live job events' WebSocket API (web/live.js); empty: the page polls
CSP_META = "content-security-policy"
DEPLOYED_STORAGE_ORIGINS = ("https://*.amazonaws.com",)
# Cognito's managed login (token and revocation endpoints) for the page's sign-in; its authority,
# cognito-idp.<region>.amazonaws.com (discovery, JWKS), is within the storage wildcard above
DEPLOYED_AUTH_ORIGINS = ("https://*.amazoncognito.com",)
# The live events' WebSocket API (wss://<id>.execute-api.<region>.amazonaws.com) of a deployed stack:
# its URL is a deploy-time value, so the page reads it from auth-config.json and the policy allows it
# by the same wildcard as the storage; the local gateway names its own ws:// URL instead (`live_url`)
DEPLOYED_LIVE_ORIGINS = ("wss://*.amazonaws.com",)
# The one inline style the page allows, by hash: the <style> wavesurfer.js 7.12.12 (web/vendor, the
# timeline) puts in its shadow root, at the page's waveform height (64 px). A hash allows exactly that
# text and nothing else (no 'unsafe-inline'); tests/unit/web/test_vendor.py recomputes it from the
# vendored file, so a new version or height that changes the text fails there, not in a browser.
WAVESURFER_STYLE_HASH = "'sha256-fF0LBso7Nz75zaFRDBUefBDvPe19hjaiDnnc8lt+2Js='"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclass(frozen=True)
class WebSecurity:
    api_origins: tuple[str, ...] = ()  # cross-origin APIs the operator allows
    storage_origins: tuple[str, ...] = DEPLOYED_STORAGE_ORIGINS  # presigned upload and result URLs
    # the OpenID provider's origins the page fetches from when it signs in (auth-config.json): the
    # authority (discovery, JWKS) and the token/revocation endpoints' host (Cognito's domain)
    auth_origins: tuple[str, ...] = DEPLOYED_AUTH_ORIGINS
    live_url: str = ""  # ws(s):// of the live events' WebSocket API: the page's tag, and connect-src
    live_origins: tuple[str, ...] = DEPLOYED_LIVE_ORIGINS  # a deployed stack's WebSocket API

    @classmethod
    def local(
        cls,
        storage_url: str,
        api_origins: list[str] | tuple[str, ...] = (),
        auth_origins: list[str] | tuple[str, ...] = (),
    ) -> WebSecurity:
        return cls(
            tuple(origin_of(u) for u in api_origins),
            (origin_of(storage_url),),
            tuple(dict.fromkeys(origin_of(u) for u in auth_origins)),
            live_origins=(),
        )

    def policy(self) -> str:
        """The Content-Security-Policy of the page, as its meta tag has it."""
        directives = {
            "default-src": ["'self'"],
            "script-src": ["'self'"],
            "style-src": ["'self'", WAVESURFER_STYLE_HASH],
            "img-src": ["'self'", "data:"],
            "media-src": ["'self'", "blob:", *self.storage_origins],
            "connect-src": ["'self'", *self.api_origins, *self.storage_origins, *self.auth_origins,
                            *self.live_origins, *([_ws_origin(self.live_url)] if self.live_url else [])],
            "object-src": ["'none'"],
            "base-uri": ["'none'"],
            "form-action": ["'self'"],
        }
        return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())

    def headers(self) -> list[tuple[str, str]]:
        """The headers of every web/ file."""
        return [
            ("content-security-policy", f"{self.policy()}; frame-ancestors 'none'"),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "no-referrer"),
        ]

    def render_index(self, html: str) -> str:
        """index.html with its two configuration tags saying what this gateway allows."""
        found = _MetaTags.find(html)
        values = {CSP_META: self.policy(), API_ORIGINS_META: " ".join(self.api_origins), WS_URL_META: self.live_url}
        for key, tag in found.items():
            html = html.replace(tag, _with_content(tag, values[key]), 1)
        return html


def page_config(html: str) -> dict[str, str]:
    """The content of the page's configuration tags (`{meta name or http-equiv: content}`)."""
    parser = _MetaTags()
    parser.feed(html)
    return parser.contents


class _MetaTags(HTMLParser):
    """Finds the configuration meta tags: their source text and their content."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: dict[str, str] = {}
        self.contents: dict[str, str] = {}

    @classmethod
    def find(cls, html: str) -> dict[str, str]:
        parser = cls()
        parser.feed(html)
        return parser.tags

    def handle_starttag(self, tag, attrs):
        if tag != "meta":
            return
        attributes = {name: value or "" for name, value in attrs}
        key = (attributes.get("http-equiv") or attributes.get("name") or "").lower()
        if key in (CSP_META, API_ORIGINS_META, WS_URL_META):
            self.tags[key] = self.get_starttag_text()
            self.contents[key] = attributes.get("content", "")


def _ws_origin(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise ValueError(f"not a ws(s) URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}".lower()


def _with_content(tag: str, content: str) -> str:
    quoted = content.replace("&", "&amp;").replace('"', "&quot;")
    return re.sub(r'content="[^"]*"', lambda _: f'content="{quoted}"', tag, count=1)
