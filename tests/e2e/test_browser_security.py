"""The upload page against a hostile API and hostile file names, in real headless Chromium:
a `?api=` link to a host the operator did not allow gets no request (so never the user's token),
an allowed API's answer and a chosen file's name are shown as text, never parsed as HTML."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from devstack.gateway import DEV_AUDIENCE, DEV_ISSUER, DevKeys, Gateway, JwtAuthorizer, WebSecurity
from tests.e2e.test_browser import ARTIFACTS, browser, page  # noqa: F401 (the Chromium fixtures)

pytestmark = pytest.mark.browser

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
PWN_IMG = '<img src=x onerror="window.__pwned=1">'
PWN_TIER = '<b id="pwned-tier">pro</b>'
NO_IMG = "document.querySelectorAll('img').length === 0"


class HostileApi:
    """An HTTP server that records every request and answers /sync/limits with HTML in its data."""

    def __init__(self):
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def __getattr__(self, name):  # every method, TRACE included, is recorded and answered
                if name.startswith("do_"):
                    return self.answer
                raise AttributeError(name)

            def answer(self):
                api.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                answers = {"/sync/limits": api.limits, "/sync/pro-jobs": api.jobs}
                route = next((f for p, f in answers.items() if self.path.split("?")[0].endswith(p)), None)
                body = json.dumps(route()).encode() if route else b"{}"
                self.send_response(204 if self.command == "OPTIONS" else 200)
                self.send_header("access-control-allow-origin", self.headers.get("origin") or "*")
                self.send_header("access-control-allow-headers", "authorization, content-type")
                self.send_header("content-type", "application/json")
                self.send_header("content-length", "0" if self.command == "OPTIONS" else str(len(body)))
                self.end_headers()
                if self.command != "OPTIONS":
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @staticmethod
    def limits() -> dict:
        limits = {"maxSegments": 5, "maxVideoBytes": 1 << 20, "maxAudioBytes": 1 << 20,
                  "maxSpeechSecondsPerSegment": 300, "maxActiveJobs": 2}
        return {"tier": PWN_TIER, "canCreateJobs": True, "activeJobs": 0, "limits": limits,
                "models": [f"lipsync-2{PWN_IMG}", PWN_IMG]}

    @staticmethod
    def jobs() -> dict:
        job = {"jobId": f"x{PWN_IMG}", "status": "completed", "stage": PWN_TIER, "progress": 100,
               "model": "lipsync-2", "segments": [], "outputFileName": f"out{PWN_IMG}",
               "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"}
        return {"jobs": [job], "nextCursor": None}

    def with_token(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path, headers in self.requests if "authorization" in headers]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile_api():
    api = HostileApi()
    yield api
    api.stop()


def never_called(event, context):
    raise AssertionError("the page must not call this gateway's API")


@pytest.fixture
def gateway_allowing(hostile_api):
    """web/ served by a gateway whose operator allow-listed the hostile API's origin."""
    keys = DevKeys.generate()
    gateway = Gateway(
        never_called,
        JwtAuthorizer(keys.jwks(), DEV_ISSUER, [DEV_AUDIENCE]),
        web_dir=WEB_DIR,
        web_security=WebSecurity.local("http://127.0.0.1:9", [hostile_api.url]),
    ).start()
    yield gateway
    gateway.stop()


def test_api_link_to_a_host_not_allowed_is_ignored_and_gets_no_token(browser, local_stack, hostile_api):  # noqa: F811
    browser.goto(f"{local_stack.url}/?api={hostile_api.url}/api/v1&poll=300")
    try:
        # the page uses its own API instead, and says why in the page
        browser.wait_for("document.querySelector('#limits').textContent.includes('Tier pro')", timeout=20)
        notice = browser.evaluate("document.querySelector('#config-notice').textContent")
        assert hostile_api.url in notice and "ignored" in notice
        assert browser.evaluate("!document.querySelector('#config-notice').hidden")
        browser.evaluate("document.querySelector('#dev-tokens [data-tier=enterprise]').click()")
        browser.wait_for("document.querySelector('#limits').textContent.includes('Tier enterprise')")
        assert hostile_api.with_token() == []
        assert hostile_api.requests == []  # nothing at all: the page never even asked
        assert browser.csp_violations() == []  # ignored by the page itself, not only blocked by its CSP
        assert browser.evaluate("window.__pwned === undefined")
        assert browser.evaluate(NO_IMG)
    finally:
        browser.screenshot(ARTIFACTS / "browser-api-link-ignored.png")


def test_api_link_to_the_pages_own_api_is_used(browser, local_stack):  # noqa: F811
    browser.goto(f"{local_stack.url}/?api=/api/v1/&poll=300")
    browser.wait_for("document.querySelector('#limits').textContent.includes('Tier pro')", timeout=20)
    assert browser.evaluate("document.querySelector('#config-notice').hidden")


def test_allowed_apis_answer_is_shown_as_text(browser, gateway_allowing, hostile_api):  # noqa: F811
    browser.goto(f"{gateway_allowing.url}/?api={hostile_api.url}/api/v1&token=user-token")
    try:
        browser.wait_for("document.querySelectorAll('#model option').length === 2", timeout=20)
        browser.wait_for("document.querySelectorAll('#history-list li').length === 1")
        assert hostile_api.with_token() == [("GET", "/api/v1/sync/limits"),  # the operator allowed it
                                            ("GET", "/api/v1/sync/pro-jobs?limit=10")]
        assert f"out{PWN_IMG}" in browser.evaluate("document.querySelector('#history-list').textContent")
        (_, _, headers), *_ = (r for r in hostile_api.requests if r[0] == "GET")
        assert headers["authorization"] == "Bearer user-token"
        assert browser.evaluate("new URLSearchParams(location.search).has('token')") is False  # not kept
        options = browser.evaluate("[...document.querySelectorAll('#model option')].map(o => o.textContent)")
        assert options == [f"lipsync-2{PWN_IMG}", PWN_IMG]
        assert PWN_TIER in browser.evaluate("document.querySelector('#limits').textContent")
        assert browser.evaluate("document.querySelector('#pwned-tier') === null")
        assert browser.evaluate(NO_IMG)
        assert browser.evaluate("window.__pwned === undefined")
    finally:
        browser.screenshot(ARTIFACTS / "browser-hostile-api-as-text.png")


def test_file_names_are_shown_as_text(page, media, tmp_path):  # noqa: F811
    audio = tmp_path / "<img src=x onerror=window.__pwned2=1>.wav"
    video = tmp_path / "<img src=x onerror=window.__pwned3=1>.mp4"
    audio.write_bytes(media["a"].read_bytes())
    video.write_bytes(media["video"].read_bytes())
    page.set_files("#audio-files", [audio])
    page.set_files("#video-file", [video])
    page.wait_for("document.querySelectorAll('#audios tbody tr').length === 1")
    page.wait_for("document.querySelector('#video-info').textContent.includes(' s')")  # duration probed
    try:
        assert audio.name in page.evaluate("document.querySelector('#audios tbody').textContent")
        assert video.name in page.evaluate("document.querySelector('#video-info').textContent")
        assert page.evaluate(NO_IMG)
        assert page.evaluate("window.__pwned2 === undefined && window.__pwned3 === undefined")
        ref_id = page.evaluate("document.querySelector('#audios input[name=refId]').value")
        assert ref_id == "_img_src_x_onerror_window___pwned2_1_"
    finally:
        page.screenshot(ARTIFACTS / "browser-file-names-as-text.png")
