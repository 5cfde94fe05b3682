"""The page follows a running job over the WebSocket API (web/live.js): the job runs to the end with
its stages shown, the status route is read only before and after (not every 300 ms, as the poll
would), and the socket stays within the page's CSP (the gateway adds the socket's origin)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cdp import Browser, find_chromium
from tests.e2e.test_browser import choose_files, fill_segment

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    executable = find_chromium()
    if executable is None:
        pytest.fail("Chromium is missing: run scripts/ensure-system-deps.sh --browser (make test does)")
    b = Browser(executable)
    b.collect_csp_violations()
    yield b
    b.close()


def test_the_page_follows_the_job_over_the_socket(browser, local_stack, media):
    assert local_stack.ws_url.startswith("ws://127.0.0.1:")
    browser.goto(f"{local_stack.url}/?poll=300")
    browser.wait_for("document.querySelector('#limits').textContent.includes('Tier pro')", timeout=20)
    assert browser.evaluate("document.querySelector('meta[name=\"prosync-ws-url\"]').content") == local_stack.ws_url
    browser.watch()
    choose_files(browser, media)
    fill_segment(browser, 0, 0.5, 2.5, "a")
    fill_segment(browser, 1, 3, 5, "b", crop=(0.5, 2.5))
    browser.evaluate("document.querySelector('#submit').click()")
    try:
        browser.wait_for("document.querySelector('#job').dataset.status === 'processing'", timeout=60)
        browser.wait_for("['completed','failed','canceled','expired'].includes("
                         "document.querySelector('#job').dataset.status)", timeout=120)
        assert browser.evaluate("document.querySelector('#job').dataset.status") == "completed"
        polls = [u for u in browser.requests(f"{local_stack.url}/api/v1/sync/pro-job/", "GET")
                 if u.endswith("/status")]
        assert len(polls) <= 3, polls  # one before subscribing, one after the end (+ a history refresh)
        assert browser.csp_violations() == []
    finally:
        browser.screenshot(ARTIFACTS / "browser-live-job.png")
