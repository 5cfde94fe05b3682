"""The upload page in real headless Chromium against the running local stack: a 2-segment job to
completion with the result playable in the page, and an overlap error shown next to its field.
Screenshots are kept under test-artifacts/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.cdp import Browser, find_chromium

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


@pytest.fixture
def page(browser, local_stack):
    browser.goto(f"{local_stack.url}/?poll=300")
    browser.wait_for("document.querySelector('#limits').textContent.includes('Tier pro')", timeout=20)
    return browser


def fill_segment(page: Browser, index: int, start, end, ref, crop=None) -> None:
    values = {"startTime": start, "endTime": end, "refId": ref}
    if crop:
        values.update(cropStart=crop[0], cropEnd=crop[1])
    page.evaluate(f"""(() => {{
        const rows = document.querySelectorAll('#segments tbody tr');
        if (rows.length <= {index}) document.querySelector('#add-segment').click();
        const row = document.querySelectorAll('#segments tbody tr')[{index}];
        for (const [name, value] of Object.entries({json.dumps(values)})) {{
            const input = row.querySelector(`[name=${{name}}]`);
            input.value = String(value);
            input.dispatchEvent(new Event('change', {{bubbles: true}}));
        }}
    }})()""")


def choose_files(page: Browser, media) -> None:
    page.set_files("#video-file", [media["video"]])
    page.set_files("#audio-files", [media["a"], media["b"]])
    page.wait_for("document.querySelectorAll('#audios tbody tr').length === 2")


def test_two_segment_job_plays_in_the_page(page, media):
    choose_files(page, media)
    fill_segment(page, 0, 0.5, 2.5, "a")
    fill_segment(page, 1, 3, 5, "b", crop=(0.5, 2.5))
    page.evaluate("document.querySelector('#submit').click()")
    try:
        page.wait_for(
            "['completed','failed','canceled','expired'].includes("
            "document.querySelector('#job').dataset.status)",
            timeout=120,
        )
        assert page.evaluate("document.querySelector('#job').dataset.status") == "completed", page.evaluate(
            "document.querySelector('#job-error').textContent"
        )
        assert (
            page.evaluate("[...document.querySelectorAll('#uploads progress')].map(p => p.value)")
            == [100] * 3
        )
        # the result loads in the <video>: metadata and first frames decoded, the input's duration
        page.wait_for("document.querySelector('#result-video').readyState >= 2", timeout=30)
        duration = page.evaluate("document.querySelector('#result-video').duration")
        assert abs(duration - 6.0) < 0.3
        assert page.evaluate("document.querySelector('#result-link').href").startswith("http")
        played = page.evaluate("""(async () => {
            const v = document.querySelector('#result-video');
            v.muted = true; v.currentTime = 3.5;
            await new Promise(r => v.addEventListener('seeked', r, {once: true}));
            return v.currentTime; })()""")
        assert abs(played - 3.5) < 0.2
        assert page.csp_violations() == []  # the whole job ran within the page's policy
    finally:
        page.screenshot(ARTIFACTS / "browser-job-completed.png")


def test_overlap_error_is_shown_next_to_the_segment(page, media):
    choose_files(page, media)
    fill_segment(page, 0, 0, 3, "a")
    fill_segment(page, 1, 2, 4, "b")
    page.evaluate("document.querySelector('#submit').click()")
    try:
        page.wait_for("!!document.querySelector('#segments tr.invalid')", timeout=20)
        row_loc = page.evaluate("document.querySelector('#segments tr.invalid').dataset.loc")
        message = page.evaluate("document.querySelector('#segments tr.invalid .error').textContent")
        assert row_loc == "segments.1"
        assert "overlap" in message.lower()
        assert page.evaluate("document.querySelector('#job').hidden")  # no job was created
    finally:
        page.screenshot(ARTIFACTS / "browser-overlap-error.png")
