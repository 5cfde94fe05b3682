"""The page's security as the gateway serves it (CSP and friends on every web/ file, index.html's
configuration tags rewritten to the gateway's policy), API Gateway's 404 for any other method or
path, and static checks of web/ that keep the page free of HTML built from data."""

import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from devstack.gateway import DEV_AUDIENCE, DEV_ISSUER, DevKeys, Gateway, JwtAuthorizer, WebSecurity
from devstack.gateway.websecurity import API_ORIGINS_META, CSP_META, WAVESURFER_STYLE_HASH, page_config

WEB_DIR = Path(__file__).resolve().parents[3] / "web"
STORAGE = "http://127.0.0.1:4566"
ALLOWED_API = "https://api.example.com"


class NeverCalled:
    def __call__(self, event, context):
        raise AssertionError(f"the Lambda must not see {event['routeKey']}")


@pytest.fixture(scope="module")
def client():
    keys = DevKeys.generate()
    gateway = Gateway(
        NeverCalled(),
        JwtAuthorizer(keys.jwks(), DEV_ISSUER, [DEV_AUDIENCE]),
        web_dir=WEB_DIR,
        web_security=WebSecurity.local(STORAGE + "/", [ALLOWED_API + "/api/v1"]),
    ).start()
    with httpx.Client(base_url=gateway.url) as http:
        yield http
    gateway.stop()


def directives(policy: str) -> dict[str, list[str]]:
    parts = (p.split() for p in policy.split(";") if p.strip())
    return {name: sources for name, *sources in parts}


@pytest.mark.parametrize(
    "method, path",
    [
        ("TRACE", "/api/v1/health"),
        ("DELETE", "/api/v1/sync/limits"),
        ("PUT", "/api/v1/sync/pro-sync-process"),
        ("PATCH", "/api/v1/sync/pro-job/abc/status"),
        ("PROPFIND", "/api/v1/health"),
        ("GET", "/nope"),
        ("TRACE", "/"),
        ("DELETE", "/index.html"),
        ("POST", "/dev/token"),
    ],
)
def test_unknown_methods_and_paths_are_api_gateways_404(client, method, path):
    answer = client.request(method, path)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"message": "Not Found"}


def test_page_is_served_with_its_security_headers(client):
    for path in ("/", "/app.js", "/style.css"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        policy = directives(answer.headers["content-security-policy"])
        assert policy["script-src"] == ["'self'"]
        # no inline style but the timeline library's own <style>, allowed by its hash (websecurity.py)
        assert policy["style-src"] == ["'self'", WAVESURFER_STYLE_HASH]
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
        assert policy["connect-src"] == ["'self'", ALLOWED_API, STORAGE]
        assert policy["media-src"] == ["'self'", "blob:", STORAGE]


def test_served_index_carries_the_same_policy_and_allow_list(client):
    answer = client.get("/")
    config = page_config(answer.text)
    header = answer.headers["content-security-policy"]
    assert header == f"{config[CSP_META]}; frame-ancestors 'none'"
    assert config[API_ORIGINS_META] == ALLOWED_API
    assert "'self'" in answer.text  # the policy's quotes survive the rewrite as HTML text


def test_committed_index_has_the_deployed_default_policy():
    config = page_config((WEB_DIR / "index.html").read_text())
    assert config[CSP_META] == WebSecurity().policy()
    assert config[API_ORIGINS_META] == ""  # no cross-origin API unless the operator lists one


class _InlineCode(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block: inline scripts, styles, handlers."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style>")
        self.found += [f"{name}= on <{tag}>" for name in names if name == "style" or name.startswith("on")]
        if any(v and v.strip().lower().startswith("javascript:") for _, v in attrs):
            self.found.append(f"javascript: URL on <{tag}>")


def test_index_has_no_inline_code():
    parser = _InlineCode()
    parser.feed((WEB_DIR / "index.html").read_text())
    assert parser.found == []


@pytest.mark.parametrize("script", sorted(p.name for p in WEB_DIR.glob("*.js")))
def test_scripts_never_build_html_from_text(script):
    source = (WEB_DIR / script).read_text()
    sinks = re.findall(r"\.(?:innerHTML|outerHTML|insertAdjacentHTML)\b|document\.write|\bon\w+\s*=\s*\"", source)
    assert sinks == []
